"""Folder and bucket sync (an entry point): keeps the documents of a folder or an S3 prefix
indexed, through the API's client (``omnidex sync``). May import the client and the floor.
"""
