"""Research fields: the category → field mapping (``mapping``), which fields an item
gets (``tagger``), the text classifier (``model``), its evaluation (``evaluate``), model
files (``store``) and the service that trains, re-tags and explains (``service``)."""
