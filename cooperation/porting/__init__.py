"""Import and export of the register: files, the column contract, row checks, bulk writes, undo,
jobs and admin views; one exporter for every file the portal writes. See docs/architecture.md."""
