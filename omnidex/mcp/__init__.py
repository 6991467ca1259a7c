"""The MCP server (an entry point): search, answer, list, read and upload, as tools for agents,
over streamable HTTP in the API (``http``) and over stdio (``omnidex mcp``). May import the
client, the API's key checks and error responses, and the floor.

The tools call omnidex's own REST API (in-process, or a server's at a URL) through the Python
client, so they keep its API keys, tenants, limits and error messages exactly.
"""
