"""The OData v4 feed of the reporting tables (spec 08 §8), without HTTP.

`model` derives entity types from the store's tables, `sets` is the explicit list of
entity sets, `csdl` writes `$metadata`, `options` parses the system query options,
`filters` compiles `$filter` (parsed by odata-query) to SQLAlchemy Core on
allow-listed columns, `tokens` signs the `$skiptoken` of server-driven paging, and
`query` runs a request against the database. The HTTP routes are
`switchboard.api.routes.odata`. See docs/reporting-odata.md.
"""
