"""Analytics: account and post metric snapshots collected from the networks on a schedule, the daily
rollup, and time series with explicit gaps (see docs/analytics.md). The formulas live in
``sokhan.metrics``."""
