"""The reference: a bare mcp SDK MCPServer with the same `add` tool, no auth, served by uvicorn on loopback.

Run as `python -m bench.bare_server [--async-tool]`; prints `ready http://127.0.0.1:PORT/mcp` once it
accepts connections. By default `add` is a plain function, as an SDK user writes it, which the SDK runs
in a worker thread; `--async-tool` makes it a coroutine, run on the loop as MCP Tray's built-in `add`
is, so the two servers differ only in what surrounds the tool.
"""

from __future__ import annotations

import sys
import threading
import time

import uvicorn
from mcp.server.mcpserver import MCPServer


def build(async_tool: bool = False) -> MCPServer:
    """An MCPServer with one tool, add(a, b): a plain function, or a coroutine with `async_tool`."""
    mcp = MCPServer("bare")

    def add(a: int | float, b: int | float) -> int | float:
        """Add two numbers and return their sum."""
        return a + b

    async def add_async(a: int | float, b: int | float) -> int | float:
        """Add two numbers and return their sum."""
        return a + b

    mcp.tool(name="add")(add_async if async_tool else add)
    return mcp


def main() -> int:
    """Serve on a free loopback port (uvicorn binds it, as `uvicorn app:app` would) until killed."""
    app = build(async_tool="--async-tool" in sys.argv[1:]).streamable_http_app(host="127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                           lifespan="on", server_header=False, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            return 1
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"ready http://127.0.0.1:{port}/mcp", flush=True)
    thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
