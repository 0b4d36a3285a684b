"""The tables. Migrations in `migrations/versions` create exactly these.

Money columns are BIGINT counts of 10**-8 currency units (`*_units`, see kernel/money.py).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .types import BookUnits, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The clock: system time, or a simulated instant shared by the server, the CLI and workers.
clock_state = Table(
    "clock_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("simulated_now", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Small named settings kept with the data (e.g. the operator token's hash).
app_setting = Table(
    "app_setting",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Request budgets shared by every API process (ratelimit/): one row per budget key, holding
# the "theoretical arrival time" of the generic cell rate algorithm, in wall-clock microseconds.
rate_limit = Table(
    "rate_limit",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("tat_us", BigInteger, nullable=False),
)

catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("checksum", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("source", String(512), nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("is_active", Boolean, nullable=False, default=False),
)

customer = Table(
    "customer",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("email", String(254), nullable=True),
    Column("mobile", String(32), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("payment_mode", String(16), nullable=False),
    Column("credit_limit_units", BigInteger, nullable=False, default=0),
    Column("level", Integer, nullable=False, default=1),
    Column("timezone", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("arrears_since", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Who did what to a customer that is not a movement of money (freeze, update ...).
audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=True, index=True),
    Column("action", String(64), nullable=False),
    Column("details", Text, nullable=False),
)

ledger_account = Table(
    "ledger_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(96), nullable=False, unique=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    # +1: debit-normal (assets, expenses); -1: credit-normal (liabilities, income).
    Column("normal_sign", Integer, nullable=False),
    Column("may_go_negative", Boolean, nullable=False),
    # Cache of the fold of this account's entries, in its normal sign; `verify` proves it.
    # (BookUnits: a balance may outgrow 64 bits; store/types.py)
    Column("balance_units", BookUnits, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
)

ledger_transaction = Table(
    "ledger_transaction",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(160), nullable=False, unique=True),
    Column("payload_hash", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=True),
    Column("reference", String(128), nullable=True),
    Column("description", String(512), nullable=True),
    Column("result", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_ledger_transaction_customer_created", "customer_id", "created_at"),
)

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "transaction_id", Integer, ForeignKey("ledger_transaction.id"), nullable=False, index=True
    ),
    Column("account_id", Integer, ForeignKey("ledger_account.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    # Signed: debits positive, credits negative. Every transaction's entries sum to zero.
    Column("amount_units", BigInteger, nullable=False),
    Index("ix_ledger_entry_account_tx", "account_id", "transaction_id"),
)

resource = Table(
    "resource",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("spec", String(128), nullable=False),
    Column("billing_mode", String(16), nullable=False),
    Column("region", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("parent_id", String(128), ForeignKey("resource.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_since", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expire_at", UtcDateTime, nullable=True),
    # When its billing mode or spec last changed (resource_terms); null: never since created.
    # Usage starting at or after it needs no look into the history.
    Column("terms_since", UtcDateTime, nullable=True),
    Index("ix_resource_customer_status", "customer_id", "status"),
    Index("ix_resource_parent", "parent_id"),
)

resource_status_history = Table(
    "resource_status_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(128), ForeignKey("resource.id"), nullable=False, index=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", String(256), nullable=False),
)

# A resource's billing mode and spec and from when they held, written from its first change
# on (the row from its creation included): usage is metered by the terms in force during its
# interval, so a prepaid time is never billed again and a spec change switches the price at
# its instant.
resource_terms = Table(
    "resource_terms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(128), ForeignKey("resource.id"), nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("billing_mode", String(16), nullable=False),
    Column("spec", String(128), nullable=False),
    Index("ix_resource_terms_resource", "resource_id", "since"),
)
APPEND_ONLY_TABLES_V18 = ("resource_terms",)

# Tables whose rows are never updated or deleted; the migration adds triggers that enforce it.
APPEND_ONLY_TABLES = (
    "ledger_transaction",
    "ledger_entry",
    "resource_status_history",
    "audit_event",
)

# --- pay-per-use: ingestion, rating, settlement ------------------------------------------------
# Quantities in a pricing unit are BIGINT counts of 10**-10 of that unit (`*_e10`): Huawei
# truncates usage converted to the pricing unit to 10 decimals.

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SeqInteger = BigInteger().with_variant(Integer, "sqlite")

usage_record = Table(
    "usage_record",
    metadata,
    # Ingestion order: the settlement watermark. Records are never updated or deleted.
    Column("seq", SeqInteger, primary_key=True, autoincrement=True),
    Column("record_id", String(128), nullable=False, unique=True),
    Column("payload_hash", String(32), nullable=False),
    Column("customer_id", String(32), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("usage_type", String(64), nullable=False),
    Column("quantity", String(64), nullable=False),  # exact decimal text, as sent
    Column("unit", String(32), nullable=False),
    Column("pricing_unit", String(32), nullable=False),
    Column("quantity_e10", BigInteger, nullable=False),  # in the pricing unit, truncated
    # The resource's spec during the interval, the price it is rated at (null: rows stored
    # before specs were kept per record, rated at the resource's spec).
    Column("spec", String(128), nullable=True),
    Column("start_at", UtcDateTime, nullable=False),
    Column("end_at", UtcDateTime, nullable=False),
    # The first and last clock hour the interval touches: most records fit in one hour, and
    # settlement sums those in SQL instead of splitting them one by one.
    Column("first_hour", UtcDateTime, nullable=False),
    Column("last_hour", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_usage_record_last_hour", "last_hour"),
    Index("ix_usage_record_resource", "resource_id", "start_at"),
    # The few records spanning hours, by start: what reaches into an hour from days before
    # (ingest/running_time.py) is found without reading every record of those days.
    Index(
        "ix_usage_record_multi_hour",
        "resource_id",
        "start_at",
        sqlite_where=text("first_hour <> last_hour"),
        postgresql_where=text("first_hour <> last_hour"),
    ),
)

# One row per settled hour, written in the same transaction as everything the run produced.
settlement_run = Table(
    "settlement_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hour_start", UtcDateTime, nullable=False),
    # Every usage record of the shard's customers with seq <= watermark_seq and a piece in an
    # hour <= hour_start has been billed once this run committed.
    Column("watermark_seq", BigInteger, nullable=False),
    Column("records", Integer, nullable=False),
    Column("late_records", Integer, nullable=False),
    Column("fees", Integer, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    # Customers are spread over shards (settle/shards.py); each shard settles each hour once.
    Column("shard", Integer, nullable=False, server_default="0"),
    UniqueConstraint("shard", "hour_start"),
)

# One row per shard of the settlement layout: the worker settling it now (`holder`, and the
# key of its presence lock on PostgreSQL) and until when. Taken and renewed by conditional
# UPDATEs inside the settling transaction; re-taken once it expired or its holder is gone.
settlement_lease = Table(
    "settlement_lease",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(128), nullable=True),
    Column("holder_key", BigInteger, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("renewed_at", UtcDateTime, nullable=True),
)

# A customer whose hours cannot be settled (a price missing from the active catalog, usage
# too large to bill, broken data) is set aside, so that every other customer is billed on time.
# Every run tries the held customer's backlog again; once it can be priced, the held hours are
# settled in that run, exactly once: a piece of usage was billed before the hold when its hour
# is before `since_hour` and its seq at most `since_watermark` (the last run before the hold).
settlement_hold = Table(
    "settlement_hold",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("since_hour", UtcDateTime, nullable=False),
    Column("since_watermark", BigInteger, nullable=False),
    Column("code", String(64), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("held_at", UtcDateTime, nullable=False),
    Column("last_tried_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("released_at", UtcDateTime, nullable=True),
    Column("released_settlement_id", Integer, nullable=True),
    # At most one open hold a customer.
    Index(
        "uq_settlement_hold_open",
        "customer_id",
        unique=True,
        sqlite_where=text("released_at IS NULL"),
        postgresql_where=text("released_at IS NULL"),
    ),
)

# Usage an operator set aside as wrong (a duplicated or corrupt record of a held customer,
# never billed): settlement leaves it out. Append-only, like the usage it names.
usage_void = Table(
    "usage_void",
    metadata,
    Column("seq", BigInteger, ForeignKey("usage_record.seq"), primary_key=True),
    Column("customer_id", String(32), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("voided_at", UtcDateTime, nullable=False),
)

# One expenditure record per movement of billed money: an hourly pay-per-use fee (written by
# settlement, `bill_type` usage) or an order's payment or refund, or an operator adjustment
# (written with the ledger transaction they describe; `settlement_id` null, `trade_id` the order
# id or the adjustment's reference). Bills, trends and exports read nothing else.
fee_record = Table(
    "fee_record",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("settlement_id", Integer, ForeignKey("settlement_run.id"), nullable=True, index=True),
    Column("customer_id", String(32), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("service", String(64), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("spec", String(128), nullable=False),
    Column("region", String(64), nullable=False),
    Column("billing_mode", String(16), nullable=False),
    Column("usage_type", String(64), nullable=False),
    # When the expenditure happened, which places it in a bill's month and day: the hour the
    # usage happened in (pay-per-use), or the instant it was charged (orders, adjustments).
    Column("hour_start", UtcDateTime, nullable=False),
    Column("is_late", Boolean, nullable=False),  # billed after its hour was settled
    Column("currency", String(3), nullable=False),
    Column("pricing_unit", String(32), nullable=False),
    Column("usage_e10", BigInteger, nullable=False),
    Column("package_usage_e10", BigInteger, nullable=False),
    Column("unit_price", String(32), nullable=True),  # flat price; null when tiered
    Column("official_units", BigInteger, nullable=False),
    Column("discount_units", BigInteger, nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("coupon_units", BigInteger, nullable=False),
    Column("cash_units", BigInteger, nullable=False),
    Column("credit_units", BigInteger, nullable=False),
    Column("debt_units", BigInteger, nullable=False),
    Column("ledger_transaction_id", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),  # when it was charged
    Column("bill_type", String(24), nullable=False, server_default="usage"),  # expenditure.BillType
    Column("trade_id", String(128), nullable=True),  # order id / adjustment reference
    Column("line_no", Integer, nullable=True),  # the order line it is for
    Column("period_start", UtcDateTime, nullable=True),  # what a yearly/monthly record pays for
    Column("period_end", UtcDateTime, nullable=True),
    Column("description", String(256), nullable=True),  # an adjustment's reason
    # Who paid, when not the consumer itself: an enterprise master in unified accounting
    # (enterprise/). The books moved are the payer's; customer_id stays the consumer's.
    Column("payer_id", String(32), nullable=True),
    Index("ix_fee_record_customer_hour", "customer_id", "hour_start"),
    Index(
        "ix_fee_record_payer_hour",
        "payer_id",
        "hour_start",
        sqlite_where=text("payer_id IS NOT NULL"),
        postgresql_where=text("payer_id IS NOT NULL"),
    ),
    Index("ix_fee_record_resource_hour", "resource_id", "hour_start"),
    # A trade's line is recorded once per bill type, however often its writer is replayed;
    # hourly fees (no trade) stay out of this index, so settlement does not maintain it.
    Index(
        "uq_fee_record_trade_line",
        "trade_id",
        "bill_type",
        "line_no",
        unique=True,
        sqlite_where=text("trade_id IS NOT NULL"),
        postgresql_where=text("trade_id IS NOT NULL"),
    ),
)

resource_package = Table(
    "resource_package",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("usage_type", String(64), nullable=False),
    Column("pricing_unit", String(32), nullable=False),
    Column("quantity_e10", BigInteger, nullable=False),  # per period (per reset period)
    Column("service", String(64), nullable=True),  # scope; null = any
    Column("resource_type", String(128), nullable=True),
    Column("spec", String(128), nullable=True),
    Column("region", String(64), nullable=True),
    # none | daily (at reset_hour, the customer's local hour) | monthly_purchase_day |
    # monthly_calendar: see kernel/resets.py
    Column("reset_kind", String(24), nullable=False),
    Column("reset_hour", Integer, nullable=True),  # 0-23 for a daily reset, else null
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # granted | purchased
    Column("reference", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Used quantity of a package per period (the whole validity, or one reset period):
# a cache of the sum of its package_usage rows.
package_period = Table(
    "package_period",
    metadata,
    Column("package_id", String(32), ForeignKey("resource_package.id"), primary_key=True),
    Column("period_start", UtcDateTime, primary_key=True),
    Column("used_e10", BigInteger, nullable=False),
)

package_usage = Table(
    "package_usage",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("package_id", String(32), ForeignKey("resource_package.id"), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("settlement_id", Integer, ForeignKey("settlement_run.id"), nullable=False),
    Column("customer_id", String(32), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("hour_start", UtcDateTime, nullable=False),
    Column("quantity_e10", BigInteger, nullable=False),
    Index("ix_package_usage_package", "package_id", "hour_start"),
)

cash_coupon = Table(
    "cash_coupon",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("face_value_units", BigInteger, nullable=False),
    # Cache of face value minus its uses and expiry; the customer's COUPON account holds the sum.
    Column("balance_units", BigInteger, nullable=False),
    Column("min_spend_units", BigInteger, nullable=False),
    Column("services", Text, nullable=True),  # JSON list; null = every service
    Column("billing_modes", Text, nullable=True),  # JSON list; null = both
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # active | used_up | expired | revoked
    Column("reference", String(128), nullable=False, unique=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Index("ix_cash_coupon_status_valid_to", "status", "valid_to"),  # the expiry job
)

coupon_usage = Table(
    "coupon_usage",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("coupon_id", String(32), ForeignKey("cash_coupon.id"), nullable=False, index=True),
    Column("customer_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # issued | used | expired | revoked | refunded
    Column("amount_units", BigInteger, nullable=False),
    Column("settlement_id", Integer, nullable=True),
    Column("ledger_transaction_id", Integer, nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

# Transactional outbox: every event to the provider or the customer, written in the same
# transaction as the change it reports. Delivery state lives in its own tables.
outbox_event = Table(
    "outbox_event",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("subject_id", String(128), nullable=False),  # the customer or resource it is about
    Column("subject_seq", Integer, nullable=False),  # 1, 2, 3 ... per subject: delivery order
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_outbox_subject", "subject_id", "subject_seq", unique=True),
)

APPEND_ONLY_TABLES_V2 = (
    "usage_record",
    "settlement_run",
    "fee_record",
    "package_usage",
    "coupon_usage",
    "outbox_event",
)

# --- provider webhooks ---------------------------------------------------------------------------
# Delivery state of each outbox event (mutable: attempts move it on). An event without a row
# has not been tried yet.
webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("event_id", BigInteger, ForeignKey("outbox_event.id"), primary_key=True),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", String(512), nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
)

# Every delivery attempt, for the operator to see what happened (append-only).
webhook_attempt = Table(
    "webhook_attempt",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, ForeignKey("outbox_event.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(512), nullable=True),
)

# --- balance alerts ------------------------------------------------------------------------------
# One per customer: the threshold the customer set, whether it is on, and whether it is armed
# (it fires once when the expenditure quota drops below the threshold, and re-arms above it).
balance_alert = Table(
    "balance_alert",
    metadata,
    Column("customer_id", String(32), ForeignKey("customer.id"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("threshold_units", BigInteger, nullable=False),
    Column("armed", Boolean, nullable=False),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("reminders_sent", Integer, nullable=False),
    Column("crossings", Integer, nullable=False),  # times it fired: numbers its events
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_balance_alert_enabled_armed", "enabled", "armed"),
)

# --- post-paid bills -----------------------------------------------------------------------------
# One per post-paid customer and billing period (a month from the billing day, in the customer's
# time zone): what was charged against the credit limit in the period, closed on the billing
# day with a due date. Immutable (append-only): what is still outstanding is derived from the
# unpaid book, repayments paying the oldest charges first (see postpaid/rules.py).
postpaid_bill = Table(
    "postpaid_bill",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("customer_id", "period_start"),
    Index("ix_postpaid_bill_due", "due_at"),
)

# --- customer notices ----------------------------------------------------------------------------
# One email or SMS to a customer, rendered when it was enqueued (what was sent is on record).
# `dedupe_key` (source + channel) makes enqueueing idempotent: a rerun never makes a second one.
# Mutable: delivery moves it from pending to sent, or to dead after its last attempt; `skipped`
# when the customer has no address for the channel or the channel is not configured.
customer_notice = Table(
    "customer_notice",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("channel", String(8), nullable=False),  # email | sms
    Column("kind", String(64), nullable=False),  # the template, e.g. arrears_started
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("recipient", String(254), nullable=True),
    Column("data", Text, nullable=False),  # the template's variables, JSON: re-rendered on retry
    Column("subject", String(512), nullable=True),
    Column("body", Text, nullable=True),
    Column("status", String(16), nullable=False),  # pending | sent | dead | skipped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", String(1024), nullable=True),  # or why it was skipped
    Column("sent_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_customer_notice_status_next", "status", "next_attempt_at"),
    Index("ix_customer_notice_customer", "customer_id", "id"),
)

# Every delivery attempt of a notice, with its outcome (append-only).
customer_notice_attempt = Table(
    "customer_notice_attempt",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("notice_id", BigInteger, ForeignKey("customer_notice.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("error", String(1024), nullable=True),  # None: accepted by the server or gateway
)

# The outbox events already turned into notices (append-only): an event is read once even when
# events commit out of id order (see notify/notices/enqueue.py).
customer_notice_event = Table(
    "customer_notice_event",
    metadata,
    Column("event_id", BigInteger, ForeignKey("outbox_event.id"), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)

APPEND_ONLY_TABLES_V7 = ("customer_notice_attempt", "customer_notice_event")

# --- yearly/monthly: orders and subscriptions -----------------------------------------------------
# An order: new purchase, renewal, spec change, unsubscription or conversion from pay-per-use.
# Mutable only in its status (pending_payment -> paid | cancelled | expired; an unsubscription is
# `refunded` when made); its figures are fixed when it is created (payment adds how it was paid).
# `reference` (the customer's trans_id) makes creation idempotent per customer.
customer_order = Table(
    "customer_order",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),  # customer | operator | auto_renew
    Column("currency", String(3), nullable=False),
    Column("official_units", BigInteger, nullable=False),
    Column("discount_units", BigInteger, nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("coupon_units", BigInteger, nullable=False),  # filled when paid (or refunded)
    Column("cash_units", BigInteger, nullable=False),
    Column("credit_units", BigInteger, nullable=False),
    Column("fee_units", BigInteger, nullable=False),  # unsubscription handling fee
    # a new purchase: the subscription settings it asks for, applied when it is paid
    Column("auto_renew", Boolean, nullable=True),
    Column("expire_policy", String(24), nullable=True),
    Column("reference", String(128), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("pay_reference", String(128), nullable=True),
    Column("ledger_transaction_id", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("payment_deadline", UtcDateTime, nullable=True),
    Column("paid_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("close_reason", String(256), nullable=True),
    UniqueConstraint("customer_id", "reference"),
    Index("ix_customer_order_customer_created", "customer_id", "created_at"),
    Index("ix_customer_order_status_deadline", "status", "payment_deadline"),
)

# One resource of an order with its figures. `period_start`/`period_end` is the span it pays for
# (set when paid); what an unsubscription refunds is derived from these spans.
order_line = Table(
    "order_line",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(32), ForeignKey("customer_order.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("resource_id", String(128), nullable=False, index=True),
    Column("service", String(64), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("spec", String(128), nullable=False),
    Column("old_spec", String(128), nullable=True),  # a spec change: from
    Column("region", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("period_unit", String(8), nullable=True),  # month | year
    Column("period_count", Integer, nullable=True),
    Column("official_units", BigInteger, nullable=False),
    Column("discount_units", BigInteger, nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("coupon_units", BigInteger, nullable=False),
    Column("cash_units", BigInteger, nullable=False),
    Column("credit_units", BigInteger, nullable=False),
    Column("discount_id", String(64), nullable=True),
    Column("period_start", UtcDateTime, nullable=True),
    Column("period_end", UtcDateTime, nullable=True),
    # an unsubscription line: what was paid, used, charged and given back
    Column("used_units", BigInteger, nullable=True),
    Column("fee_units", BigInteger, nullable=True),
    # The unsubscription that settled this line's money (the whole resource, or a renewal
    # period given back before it began): such a line no longer counts among its paid periods.
    Column("settled_by", String(32), nullable=True),
    UniqueConstraint("order_id", "line_no"),
)

# Which coupon paid how much of which order line (append-only): refunds give it back.
order_coupon = Table(
    "order_coupon",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(32), ForeignKey("customer_order.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("coupon_id", String(32), ForeignKey("cash_coupon.id"), nullable=False),
    Column("amount_units", BigInteger, nullable=False),  # > 0 used, < 0 given back
)

# The subscription of a yearly/monthly resource: its expiry is the end of the day `months` months
# after `anchor_date` in the customer's zone (always from the anchor, so Jan 31 + 1 + 1 month is
# Mar 31); `resource.expire_at` caches it. Auto-renew, expire policy and reminders live here.
subscription = Table(
    "subscription",
    metadata,
    Column("resource_id", String(128), ForeignKey("resource.id"), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False, index=True),
    Column("anchor_date", Date, nullable=False),
    Column("months", Integer, nullable=False),
    Column("first_paid_at", UtcDateTime, nullable=True),  # the full-refund window starts here
    Column("expire_policy", String(24), nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("auto_renew_period_unit", String(8), nullable=True),
    Column("auto_renew_period_count", Integer, nullable=True),
    Column("auto_renew_attempted_at", UtcDateTime, nullable=True),
    Column("auto_renew_error", String(512), nullable=True),
    # when auto-renew was last switched on: switched on inside the charging window, the first
    # charge waits for the next 03:00 (unless the resource expires before it)
    Column("auto_renew_enabled_at", UtcDateTime, nullable=True),
    Column("reminded_expire_at", UtcDateTime, nullable=True),
    Column("reminded_days", Integer, nullable=True),  # the nearest reminder sent for that expiry
    Column("updated_at", UtcDateTime, nullable=False),
)

APPEND_ONLY_TABLES_V9 = ("order_coupon",)

# A customer's renewal settings (BSS SetResourcesRenewConfig): the auto-renewal deduction day,
# 2 to 7 days before expiry (null: Huawei's default, 7), and the unified expiry day renewals
# extend to (1-28 of the month, -1 its last day; null: none). No row: the defaults.
renewal_config = Table(
    "renewal_config",
    metadata,
    Column("customer_id", String(32), ForeignKey("customer.id"), primary_key=True),
    Column("deduction_days_before", Integer, nullable=True),
    Column("unified_expiry_day", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Customer access keys (AK/SK) for the BSS and native customer APIs
# One AK/SK pair of a customer; `id` is the AK. The SK is kept sealed (Fernet, key from
# CLOUDBILL_SECRET_KEY) because verifying an HMAC signature needs it in plain text; it is shown
# once, when the key is created. Mutable: enabled, disabled, deleted.
access_key = Table(
    "access_key",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", String(255), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_access_key_customer", "customer_id", "created_at"),
)

# People who sign in to the web console: a customer's users (several per customer, admin or
# viewer) and the provider's operator users. Only an Argon2id hash of a password is kept, and
# only the SHA-256 of an invitation token.
console_user = Table(
    "console_user",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=True),
    Column("email", String(254), nullable=False),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("invite_digest", String(64), nullable=True, unique=True),
    Column("invite_expires_at", UtcDateTime, nullable=True),
    Column("failed_sign_ins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_sign_in_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "email", name="uq_console_user_kind_email"),
    Index("ix_console_user_customer", "customer_id", "created_at"),
)

# Signed-in browsers: the SHA-256 of the cookie value (the cookie alone opens the session),
# the CSRF token its forms carry, and when it ends (absolute lifetime or idle timeout).
console_session = Table(
    "console_session",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("console_user.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_console_session_user", "user_id"),
    Index("ix_console_session_expires", "expires_at"),
)

# Console forms applied: a form submitted twice (a double click, a reload) is applied once,
# the second answer being the first's outcome.
console_form = Table(
    "console_form",
    metadata,
    Column("user_id", String(32), ForeignKey("console_user.id"), primary_key=True),
    Column("form_key", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the form's path and fields
    Column("outcome", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_console_form_created", "created_at"),
)

# --- invoices ------------------------------------------------------------------------------------
# A customer's invoice information (the buyer printed on invoices): mutable, the issued
# documents keep a copy of what it said when they were issued.
invoice_profile = Table(
    "invoice_profile",
    metadata,
    Column("customer_id", String(32), ForeignKey("customer.id"), primary_key=True),
    Column("title_type", String(16), nullable=False),  # personal | enterprise
    Column("title", String(200), nullable=False),
    Column("tax_id", String(64), nullable=True),  # required for an enterprise
    Column("email", String(254), nullable=True),
    Column("address", String(512), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# An invoice or credit memo of one customer, one currency and one tax rate. Mutable only in
# its status (request mode: pending_review -> issuing -> issued -> return_pending -> returned,
# or rejected / cancelled); its figures are fixed when it is made, its number when issued.
invoice = Table(
    "invoice",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # invoice | credit_memo
    Column("method", String(16), nullable=False),  # request | automatic
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_rate", String(16), nullable=False),  # exact decimal text, e.g. 0.06
    Column("amount_units", BigInteger, nullable=False),  # sum of its items (< 0: credit memo)
    # "req:" + the request's idempotency key (at most 160) + "#" + the rate's index
    Column("reference", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("reason", String(512), nullable=True),  # why rejected / returned
    Column("corrects_id", String(32), nullable=True),  # a credit memo: the invoice it corrects
    Column("series", String(16), nullable=True),
    Column("number", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime, nullable=True),
    UniqueConstraint("customer_id", "reference"),
    UniqueConstraint("series", "number", name="uq_invoice_series_number"),
    Index("ix_invoice_customer_created", "customer_id", "created_at"),
    Index("ix_invoice_status", "status", "created_at"),
)

# What an invoice covers: a part of an order's or a billing cycle's (or a top-up's) paid money
# at one tax rate. Append-only; a credit memo's items are negative.
invoice_item = Table(
    "invoice_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice_id", String(32), ForeignKey("invoice.id"), nullable=False, index=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("source_kind", String(16), nullable=False),  # order | cycle | topup
    Column("source_id", String(64), nullable=False),
    Column("tax_rate", String(16), nullable=False),
    Column("amount_units", BigInteger, nullable=False),
)

# The issued document as printed (seller, buyer, lines, rounded totals, tax), JSON: what was
# issued never changes, whatever happens to the profile, the settings or the template.
invoice_document = Table(
    "invoice_document",
    metadata,
    Column("invoice_id", String(32), ForeignKey("invoice.id"), primary_key=True),
    Column("series", String(16), nullable=False),
    Column("number", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("series", "number", name="uq_invoice_document_series_number"),
)

# The next number of each series; its row is locked while a document is numbered, so numbers
# are gapless (a rolled-back issue gives its number back with the transaction).
invoice_series = Table(
    "invoice_series",
    metadata,
    Column("series", String(16), primary_key=True),
    Column("next_number", Integer, nullable=False),
)

APPEND_ONLY_TABLES_V19 = ("invoice_item", "invoice_document")
# Bill storage (storage/): where a customer's bill files go. The secret key is sealed like
# customers' secret access keys (credentials/sealing.py). `next_day` is the first local day not
# yet pushed, so a worker that was down catches up every missed day from it.
bill_storage = Table(
    "bill_storage",
    metadata,
    Column("customer_id", String(32), ForeignKey("customer.id"), primary_key=True),
    Column("endpoint_url", String(512), nullable=False),
    Column("region", String(64), nullable=False),
    Column("bucket", String(63), nullable=False),
    Column("prefix", String(512), nullable=False),
    Column("access_key_id", String(128), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("bills", String(64), nullable=False),  # comma list of storage.model.BillFile
    Column("file_format", String(16), nullable=False),  # csv | csv.gz | parquet
    Column("enabled", Boolean, nullable=False),
    Column("next_day", String(10), nullable=True),  # YYYY-MM-DD in the customer's zone
    Column("failure_days", Integer, nullable=False),  # days in a row a push failed
    Column("last_failure_on", String(10), nullable=True),
    Column("disabled_reason", String(512), nullable=True),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One row per version of a bill file pushed: a bill that changed after its push (late usage,
# adjustments) gets the next version; the highest is current.
bill_storage_file = Table(
    "bill_storage_file",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("name", String(64), nullable=False),  # e.g. Resource_Expenditures_20260105
    Column("billing_period", String(7), nullable=False),  # YYYY-MM
    Column("version", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the records the version holds
    Column("high_water", BigInteger, nullable=False),  # the highest fee record id it may hold
    Column("rows", BigInteger, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("manifest_key", String(1024), nullable=False),
    Column("pushed_at", UtcDateTime, nullable=False),
    UniqueConstraint("customer_id", "name", "version", name="uq_bill_storage_file_version"),
)

# Each push of a day is a recorded job with its outcome (ok / failed) and figures.
bill_storage_push = Table(
    "bill_storage_push",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("day", String(10), nullable=False),  # the local day pushed
    Column("outcome", String(16), nullable=False),
    Column("files_written", Integer, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("problem", String(32), nullable=True),  # storage.model.Problem when failed
    Column("error", String(512), nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Index("ix_bill_storage_push_customer", "customer_id", "id"),
)

# --- enterprise ----------------------------------------------------------------------------------
# A member account tied to a master account (enterprise/): `mode` unified (the master pays the
# member's fees and orders) or independent (the member pays itself; the master may allocate to
# it). status: invited -> active -> ended, or invited -> declined / cancelled. At most one live
# (invited or active) association per member; ended ones stay, so the accounting an instant
# fell under can be looked up (accepted_at <= t < ended_at).
_LIVE_ASSOCIATION = "status IN ('invited', 'active')"
enterprise_association = Table(
    "enterprise_association",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("master_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("mode", String(16), nullable=False),  # unified | independent
    Column("status", String(16), nullable=False),  # invited | active | declined | cancelled | ended
    Column("invited_by", String(16), nullable=False),  # master | operator
    Column("created_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_enterprise_association_master", "master_id", "status"),
    Index("ix_enterprise_association_member", "member_id", "created_at"),
    Index(
        "uq_enterprise_association_live_member",
        "member_id",
        unique=True,
        sqlite_where=text(_LIVE_ASSOCIATION),
        postgresql_where=text(_LIVE_ASSOCIATION),
    ),
)

# Independent accounting (enterprise/): every allocation of cash, credit limit or a cash coupon
# from a master to a member, and every recall back, one row each, seen by both. `request_key`
# makes a movement idempotent (the master's request id); `payload_hash` tells a replay from a
# different request under the same id. Cash and coupon moves point at their ledger transaction;
# a credit-limit move is not money (it changes two limits) and has none.
enterprise_allocation = Table(
    "enterprise_allocation",
    metadata,
    Column("id", SeqInteger, primary_key=True, autoincrement=True),
    Column("association_id", String(32), ForeignKey("enterprise_association.id"), nullable=False),
    Column("master_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("member_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # cash | credit | coupon
    Column("direction", String(16), nullable=False),  # allocate | recall
    Column("currency", String(3), nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("from_coupon_id", String(32), nullable=True),  # coupon moves: the coupon split
    Column("to_coupon_id", String(32), nullable=True),  # and the coupon it made
    Column("ledger_transaction_id", Integer, nullable=True),
    Column("request_key", String(160), nullable=False, unique=True),
    Column("payload_hash", String(64), nullable=False),
    Column("actor", String(64), nullable=False),  # master | operator
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_enterprise_allocation_master", "master_id", "id"),
    Index("ix_enterprise_allocation_member", "member_id", "id"),
)

# What a master sets for one member: a monthly budget (an alert when the member's month-to-date
# spend passes it, once per month: `budget_alerted_month` is the month last told) and who set it.
enterprise_member_setting = Table(
    "enterprise_member_setting",
    metadata,
    Column("member_id", String(32), ForeignKey("customer.id"), primary_key=True),
    Column("master_id", String(32), ForeignKey("customer.id"), nullable=False),
    Column("budget_units", BigInteger, nullable=True),  # None: no budget
    Column("budget_alerted_month", String(7), nullable=True),  # YYYY-MM in the member's zone
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_enterprise_member_setting_master", "master_id"),
)
