"""The common replies: the YAML library, Firefox's UI labels in it, and the catalog in use.

    model.py       Reply, Topic, the text languages (LOCALES) and which one a request gets (resolve_locale)
    library.py     ReplyLibrary: look a reply up by key or topic, search, spot a near copy; audit
    loading.py     reading the YAML folder and checking every field: ReplyLibraryError, every problem message
    search.py      the typo-tolerant search and the "did you mean" names, with their tuning constants
    copies.py      near-copy detection (is this draft a pasted common reply?), for !check
    render.py      a reply rendered for a handle, with its link and #fxhelp, and its length on X
    ui_strings.py  Firefox's UI labels and product names the texts name, per language variety
    catalog.py     the library in use, replaced only by a clean reload
    messages.py    the words of the !reply answers (the bot's own sentences, not Firefox's labels)
"""
