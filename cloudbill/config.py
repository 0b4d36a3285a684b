"""Settings, from environment variables (prefix CLOUDBILL_) or a `.env` file."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kernel.limits import MAX_COUPONS_PER_PAYMENT, REQUEST_BODY_MAX_BYTES, USAGE_HORIZON_DAYS
from .kernel.money import Rounding

DEFAULT_DATABASE_URL = "sqlite:///var/cloudbill.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOUDBILL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/file.sqlite (embedded) or postgresql://user@host/db",
    )
    database_busy_timeout_s: float = Field(
        30, gt=0, le=600,
        description="SQLite: how long a write waits for another writer before the request is "
        "answered 503 DATABASE_BUSY",
    )  # fmt: skip
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    operator_token: str | None = Field(
        None,
        description="Bearer token for the operator API; generated and stored when unset",
    )
    secret_key: str | None = Field(
        None,
        min_length=32,
        description="seals customers' secret access keys at rest (unset: the key file)",
    )
    secret_key_file: str | None = Field(
        None,
        description="the file that holds the sealing key, made 0600 on a new database (unset: "
        "beside an SQLite database, or ~/.local/share/cloudbill/keys/ for PostgreSQL)",
    )
    bss_port: int = Field(8081, ge=1, le=65535, description="where `serve` answers the BSS API")
    bss_rate_per_s: float = Field(
        10, gt=0, le=100_000, description="API requests per second per customer (Huawei: 10)"
    )
    bss_burst: int = Field(20, ge=1, le=100_000, description="requests a customer may burst")
    rate_limit_redis_url: str | None = Field(
        None,
        description="keep request budgets in this Redis (redis://host:6379/0) instead of the "
        "database",
    )
    auth_failures_max: int = Field(
        10, ge=1, le=100_000, description="failed authentications a source or key may burst"
    )
    auth_failures_window_s: int = Field(
        60, ge=1, le=86_400, description="seconds in which the failure budget refills"
    )
    clock: str = Field(
        "system",
        pattern="^(system|simulated)$",
        description="clock mode for a new database; `cloudbill clock` changes it later",
    )
    bill_rounding: Rounding = Field(
        Rounding.HALF_UP, description="half_up (Huawei international) or truncate (China site)"
    )
    settlement_lateness_s: int = Field(
        900, ge=0, le=86400, description="an hour is settled this long after it ended"
    )
    settlement_shards: int = Field(
        1, ge=1, le=1024,
        description="customers are settled in this many shards, each by one worker at a time "
        "(PostgreSQL; SQLite keeps one); fixed once an hour was settled",
    )  # fmt: skip
    settlement_lease_s: int = Field(
        60, ge=5, le=3600,
        description="a worker's lease on a shard runs this long past its last renewal",
    )  # fmt: skip
    usage_horizon_days: int = Field(
        USAGE_HORIZON_DAYS, ge=1, le=3660,
        description="usage that started more than this many days ago is refused",
    )  # fmt: skip
    postpaid_billing_day: int = Field(
        3,
        ge=1,
        le=28,
        description="day of the month (customer time zone) the previous month's post-paid bill "
        "is issued; Huawei issues on the 3rd",
    )
    postpaid_repayment_days: int = Field(
        15, ge=0, le=90, description="a post-paid bill is due this many days after it is issued"
    )
    order_payment_hours: int = Field(
        168,
        ge=1,
        le=24 * 90,
        description="an unpaid order is cancelled by itself this long after it is made",
    )
    coupons_per_payment: int = Field(
        1,
        ge=1,
        le=MAX_COUPONS_PER_PAYMENT,
        description="cash coupons one payment may use, auto-renewal's included (Huawei's "
        "international site: one)",
    )
    full_refund_days: int = Field(
        0,
        ge=0,
        le=90,
        description="unsubscribing this soon after purchase refunds everything, coupons "
        "included (0: no such window, as on Huawei's international site)",
    )
    unsubscribe_fee_percent: Decimal | None = Field(
        None,
        ge=0,
        le=100,
        description="one handling fee for every unsubscription, as a percentage of what was "
        "paid (unset: Huawei's table by term and year of use)",
    )
    subscription_reminder_days: str = Field(
        "7,3,1",
        pattern=r"^\s*(\d{1,3}(\s*,\s*\d{1,3})*)?\s*$",
        description="'expires in N days' reminders of yearly/monthly resources (empty: none)",
    )
    worker_interval_s: int = Field(60, ge=1, le=3600, description="how often the worker looks")
    bill_storage_failure_days: int = Field(
        3, ge=1, le=60,
        description="bill storage is switched off (and the customer told) after its bucket "
        "failed on this many days in a row",
    )  # fmt: skip
    bill_storage_file_rows: int = Field(
        500_000, ge=1, le=10_000_000,
        description="a bill file pushed to a bucket is split into parts of at most this many rows",
    )  # fmt: skip
    console_session_hours: int = Field(
        12, ge=1, le=24 * 30, description="a console sign-in lasts at most this long"
    )
    console_idle_minutes: int = Field(
        60, ge=1, le=24 * 60, description="a console session ends after this long unused"
    )
    console_lockout_failures: int = Field(
        5, ge=1, le=100, description="failed console sign-ins in a row that lock the user"
    )
    console_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="how long a locked console user waits"
    )
    console_locale: str = Field(
        "en",
        pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$",
        description="the console's language: a catalogue under console/locale/ (en: built in)",
    )
    console_payment_instructions: str = Field(
        "Transfer the amount to the provider's bank account, quoting your account id; the "
        "provider records the top-up when it arrives.",
        max_length=2000,
        description="what the console's Top up / Repayment shows a customer",
    )
    webhook_url: str | None = Field(
        None, description="the provider's endpoint for lifecycle events (unset: not delivered)"
    )
    webhook_secret: str | None = Field(
        None, description="Standard Webhooks signing secret, `whsec_` + base64"
    )
    webhook_max_attempts: int = Field(12, ge=1, le=100, description="then dead-lettered")
    webhook_backoff_s: int = Field(30, ge=1, le=3600, description="first retry delay; doubles")
    webhook_timeout_s: int = Field(10, ge=1, le=120)
    log_level: str = Field(
        "info", pattern="^(debug|info|warning|error)$", description="debug, info, warning, error"
    )
    log_format: str = Field(
        "text",
        pattern="^(text|json)$",
        description="text (key=value lines) or json (one object a line)",
    )
    ready_max_lag_s: int = Field(
        3600,
        ge=0,
        le=30 * 86400,
        description="/ready fails when the oldest due hour waits longer than this to be "
        "settled (0: settlement is not checked, e.g. on API processes beside a separate worker)",
    )
    request_body_max_bytes: int = Field(
        REQUEST_BODY_MAX_BYTES,
        ge=1024,
        le=1 << 30,
        description="request bodies past this size are refused (413) while they are read, "
        "before authentication, on every listener",
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="`worker run` serves its counters (Prometheus) on this port (unset: none)",
    )
    webhook_topics: str = Field(
        "resource.*,customer.arrears_*,settlement.*",
        pattern=r"^\s*[a-z0-9_.*]+(\s*,\s*[a-z0-9_.*]+)*\s*$",
        description="comma-separated topic patterns (`*` any text) pushed to the provider "
        "webhook; customer-facing events (alerts, top-ups, bills) go to customers instead",
    )
    # Customer notices: email over SMTP, SMS through an HTTP gateway.
    smtp_host: str | None = Field(None, description="SMTP server (unset: no email is sent)")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(True, description="upgrade the connection with STARTTLS")
    smtp_ssl: bool = Field(False, description="implicit TLS from the start (usually port 465)")
    smtp_from: str | None = Field(None, description="the From address of customer emails")
    smtp_timeout_s: int = Field(10, ge=1, le=120)
    sms_gateway_url: str | None = Field(
        None, description='POSTed JSON {"to", "message", "id"}; 2xx = accepted (unset: no SMS)'
    )
    sms_gateway_token: str | None = Field(None, description="sent as `Authorization: Bearer`")
    sms_timeout_s: int = Field(10, ge=1, le=120)
    notice_max_attempts: int = Field(8, ge=1, le=100, description="then the notice is dead")
    notice_backoff_s: int = Field(60, ge=1, le=3600, description="first retry delay; doubles")
    notice_templates_dir: str | None = Field(
        None, description="files here replace the default templates of the same name"
    )
    invoice_mode: str = Field(
        "request",
        pattern=r"^(request|automatic)$",
        description="request: the customer asks, an operator reviews and issues; automatic: "
        "an invoice when an order is paid and when a month is billed, a credit memo on refunds",
    )
    invoice_on_topup: bool = Field(
        False, description="invoice top-ups (net of withdrawals) instead of consumption"
    )
    invoice_tax_rates: str = Field(
        "",
        description="tax rates, most specific first: 'CNY=0.06,ecs:CNY=0.13,USD/eu-west-1=0.2' "
        "([service:]currency[/region]=rate; unset currencies: 0)",
    )
    invoice_seller_name: str = Field("cloudbill provider", description="the seller on invoices")
    invoice_seller_tax_id: str = Field("", description="the seller's tax id on invoices")
    invoice_seller_address: str = Field("", description="the seller's address on invoices")
    invoice_series: str = Field(
        "INV", pattern=r"^[A-Z0-9]{1,12}$", description="number prefix of invoices"
    )
    credit_memo_series: str = Field(
        "CM", pattern=r"^[A-Z0-9]{1,12}$", description="number prefix of credit memos"
    )
    invoice_template: str | None = Field(
        None, description="a Jinja2 HTML file that replaces the invoice PDF's template"
    )
    invoice_font: str | None = Field(
        None, description="a Unicode TrueType/OpenType font file embedded in invoice PDFs"
    )
    notice_grace_reminder_days: str = Field(
        "7,3,1",
        pattern=r"^\s*(\d{1,3}(\s*,\s*\d{1,3})*)?\s*$",
        description="'grace ends in N days' reminders: days before the freeze (empty: none)",
    )
    notice_release_reminder_days: str = Field(
        "7,3,1",
        pattern=r"^\s*(\d{1,3}(\s*,\s*\d{1,3})*)?\s*$",
        description="'release in N days' reminders: days before the release (empty: none)",
    )
