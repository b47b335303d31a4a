"""Where tools come from: built-ins, installed plugin packages and the user's tools folder (no Qt here).

Plugin authors may import the optional decorators: `from app.tools import tool, skip`.
"""

from app.tools.decorator import skip, tool

__all__ = ["skip", "tool"]
