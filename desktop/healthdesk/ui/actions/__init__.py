"""The contacts behind each number of the summary of performed actions."""
