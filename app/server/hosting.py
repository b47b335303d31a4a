"""How one server process takes part in a hosted deployment (`serve --workers N`); defaults: the desk app.

A desk server is one process, so everything it keeps in memory (MCP sessions, rate-limit buckets,
the list of streams to cut on revocation) is the whole truth. With several workers each of those
is either moved to the shared database or made unnecessary:

- streamable HTTP runs the SDK's stateless mode: any worker answers any request, no proxy affinity
  is needed (2026-07-28 requests carry no session anyway; the SDK serves them statelessly in every
  mode). What stateless gives up: server-initiated messages outside a request (the GET stream,
  list-changed notifications) and resuming a broken stream, which none of our tools need;
- the legacy SSE transport keeps its stream in the worker that accepted `/sse`; its endpoint URL
  names that worker (`/messages/w<index>/`), and a POST arriving at another worker is passed to
  the right one over that worker's private Unix socket (app/server/sse_relay.py): again no affinity;
- housekeeping that assumes "nothing else runs" (forgetting held calls of a previous run, pruning)
  is done once by the supervisor before the workers start, never by a worker that restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Hosting:
    """This process's part: worker `index` of `workers`, and what changes with that."""

    workers: int = 1
    index: int = 0
    access_log: bool = False  # one log line per request (hosted JSON logs)
    housekeeping: bool = True  # prune and clear held calls at start (False: the supervisor did it)
    relay_dir: Path | None = None  # where each worker's private socket for SSE posts lives
    window: bool = True  # the tray app's window shows sign-in requests (`serve`: none, the owner uses the CLI)

    @property
    def several(self) -> bool:
        """True when other workers serve the same port."""
        return self.workers > 1

    @property
    def stateless(self) -> bool:
        """Streamable HTTP without server-side sessions (several workers)."""
        return self.several

    def relay_socket(self, index: int) -> Path | None:
        """The private socket of worker `index` (None with one worker)."""
        return None if self.relay_dir is None else self.relay_dir / f"w{index}.sock"

    @property
    def messages_path(self) -> str:
        """The SSE transport's endpoint for posts: it names this worker when there are several."""
        return f"/messages/w{self.index}/" if self.several else "/messages/"
