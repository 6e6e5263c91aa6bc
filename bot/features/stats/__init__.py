"""The numbers: ``!stats``/``!top`` figures and the weekly digest."""
