"""The owner's channel in tests (`mcp-tray approvals / approve / deny`); it lives in bench/support/owner.py (shared)."""

from bench.support.owner import (
    OWNER_COMMAND_ENV,
    SERVERS_FILE_ENV,
    CliResult,
    answer,
    data_dir_for,
    find_pending,
    owner_cli,
    owner_cli_process,
    pending,
    remember,
)

__all__ = ["OWNER_COMMAND_ENV", "SERVERS_FILE_ENV", "CliResult", "answer", "data_dir_for", "find_pending",
           "owner_cli", "owner_cli_process", "pending", "remember"]
