"""rolecall's faces: the command line (``cli``) and the Textual app. No AWS logic here."""
