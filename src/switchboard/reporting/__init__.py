"""Reporting (spec 08): the journal projected into sessions, intervals and aggregates.

`projection` folds events into rows (pure), `outcomes` holds the static outcome
tables, `storage` writes rows to the store's reporting tables, `rebuild` replays a
tenant's journal into them, `live` keeps them current while the service runs, and
`kpis` computes the figures of 08 §5 from them. See docs/reporting.md.
"""
