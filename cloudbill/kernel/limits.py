"""Every bound on outside data and on queries that can grow, in one place."""

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# An account balance (the books), in units of 10**-8: up to 10**22 currency units, far past a
# provider's lifetime revenue in VND, KRW or IDR. One movement of money stays within int64
# (about 92 billion currency units), the ledger entry that carries it being a 64-bit integer.
BOOK_UNITS_MAX = 10**30 - 1

# Paging: default and maximum rows per page of any list.
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 1000

# Text fields supplied from outside.
NAME_MAX_CHARS = 128
EMAIL_MAX_CHARS = 254
MOBILE_MAX_CHARS = 32
REFERENCE_MAX_CHARS = 128
# The ledger's key column: a prefix such as `withdraw:` (at most 32) + a reference (at most 128).
IDEMPOTENCY_KEY_MAX_CHARS = 160
DESCRIPTION_MAX_CHARS = 512
# Console passwords: length makes them strong; the upper bound keeps hashing cheap.
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 256
# Console users per customer, listed and kept (a bound on one customer's people).
USERS_PER_CUSTOMER_MAX = 200

# Amount text accepted from outside (digits plus sign and point).
AMOUNT_TEXT_MAX_CHARS = 40

# Catalog file size the loader accepts.
CATALOG_FILE_MAX_BYTES = 8 * 1024 * 1024

# Simulated clock: the most one `clock advance` may move.
CLOCK_ADVANCE_MAX_DAYS = 3660

# Ledger: legs in one transaction.
LEDGER_LEGS_MAX = 10_000

# API request body size.
REQUEST_BODY_MAX_BYTES = 16 * 1024 * 1024

# Usage ingestion.
USAGE_BATCH_MAX = 1000  # records per API request
STREAM_FETCH_MAX = 10_000  # messages fetched from a stream at a time (`usage consume --batch`)
STREAM_WAIT_MAX_S = 60.0  # longest wait of one fetch for messages
USAGE_FILE_BATCH_ROWS = 50_000  # rows read from a CSV/Parquet file at a time
# Rows of a usage file stored per write transaction: short enough (well under a second) that
# other writers barely wait for an ingesting file (ingest/file_ingest.py).
USAGE_FILE_TRANSACTION_ROWS = 5_000
USAGE_INTERVAL_MAX_HOURS = 744  # one record covers at most a month of 31 days
USAGE_FUTURE_SKEW_S = 300  # a record may end at most this far after `now` (clock skew)
USAGE_HORIZON_DAYS = 90  # default CLOUDBILL_USAGE_HORIZON_DAYS: older usage is refused
# What one record may claim per second of its interval, by the usage type's dimension (a
# duration: at most the interval itself). Far above any real resource, far below what would
# overflow the books: a meter's fault is refused at the door instead of billed.
USAGE_CAPACITY_MAX_GB = 1_048_576  # data_time: capacity held, at most 1 PB (GB-s per s)
USAGE_DATA_MAX_BYTES_PER_S = 2**40  # data: 1 TiB a second (about 8.8 Tbit/s)
USAGE_COUNT_MAX_PER_S = 10**9  # count: a billion a second
REJECTIONS_REPORTED_MAX = 100  # rejected records listed in one answer (all are counted)
SQL_IN_CHUNK = 900  # ids per IN (...) list: under SQLite's 999 bound parameters

# Months named from outside (bills, trends): years in this range only.
MONTH_YEAR_MIN = 1970
MONTH_YEAR_MAX = 2999

# Bills.
DAY_RANGE_MAX_DAYS = 92  # day granularity buckets with one CASE branch per local day
TREND_MONTHS_MAX = 36
BREAKDOWN_LINES_MAX = 1000  # services / resource types / billing modes in one bill
EXPORT_CHUNK_ROWS = 1000
FILTER_TEXT_MAX_CHARS = 128
OFFSET_MAX = 10_000_000  # deeper than this, narrow the period or filter instead

# Paying: the most an operator may allow (CLOUDBILL_COUPONS_PER_PAYMENT; Huawei allows one), and
# how many pending orders one payment may take together.
MAX_COUPONS_PER_PAYMENT = 10
ORDERS_PAID_TOGETHER_MAX = 50

# Cost analysis (costs/): Huawei's Cost Center answers at most 90 days by day and keeps 18
# months; a query's records and groups are bounded so one answer stays small.
COSTS_DAYS_MAX = 90
COSTS_MONTHS_MAX = 18
COSTS_GROUP_BY_MAX = 2
COSTS_FILTER_VALUES_MAX = 100
COSTS_ROWS_MAX = 200_000  # (group, bucket) sums one query may read
COSTS_SPREAD_RECORDS_MAX = 100_000  # yearly/monthly records one amortized query may spread

# Rows a large query result is fetched in at a time (Result.partitions): a fetch per row costs
# more in the driver, and all at once would hold a million rows at the same time.
FETCH_ROWS = 10_000
