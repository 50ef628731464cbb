"""A local ConnectWise PSA (Manage) REST API with seeded data of a UK managed-service provider.

Used by the demo, the end-to-end tests and the benchmarks. Start one with
``SandboxServer(port=0).start()`` or ``python -m sandbox``; ``sandbox.conventions`` lists the
data conventions and ``sandbox.data.broken_documents`` the documents that must be quarantined.
"""
