"""The HTTP server: Starlette app, MCP transports and tools, and the uvicorn thread runner."""
