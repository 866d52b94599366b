"""A local stand-in of the ministry's @ctes endpoint, shipped for the demo and the tests:
an HTTPS server that checks the client certificate, takes a package, answers 201 and
writes the ``ARActe`` back as an e-mail into a Maildir (``server.py``), the test PKI it
runs with (``pki.py``) and the return messages it writes (``messages.py``)."""
