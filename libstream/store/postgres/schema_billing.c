/*
 * The PostgreSQL dialect's schema: billing (plans, payment methods,
 * subscriptions, invoices, payments, refunds, idempotency keys) and screen
 * leases. The SQLite dialect's tables as of STORE__PG_BASELINE, every
 * migration folded in: migrations/billing.c (m0003), leases.c (m0004) and the
 * retention indexes of retention.c (m0010). Same table and column names, same
 * constraints (they carry the invariants the billing service relies on: amounts
 * in range, invoice arithmetic, at most one live subscription and one pending
 * payment per account).
 *
 * Differences forced by PostgreSQL:
 *   - `seq` (an identity column) on the tables whose rows the SQLite backend
 *     orders or breaks ties by rowid (cards, subscriptions, invoices, payments,
 *     refunds, screen_leases): insertion order, as rowid gives there. Indexes
 *     that SQLite extends with the rowid implicitly name `seq` last.
 *   - Ids the backend orders or pages by (plans.id, subscriptions.id and the
 *     plan references) use the "C" collation: byte order, as SQLite's BINARY,
 *     whatever the database's default collation is.
 *   - length(CAST(x AS BLOB)) is octet_length(x).
 * Applied after the auth and catalog lists: the foreign keys point to
 * accounts, profiles and titles.
 */
#include "pg_internal.h"

const char *const store__pg_schema_billing[] = {
    "CREATE TABLE plans ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),"
    "  name TEXT NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 64),"
    "  price BIGINT NOT NULL CHECK (price BETWEEN 0 AND 1000000000000),"
    "  currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),"
    "  period_months INTEGER NOT NULL CHECK (period_months BETWEEN 1 AND 12),"
    "  trial_days INTEGER NOT NULL CHECK (trial_days BETWEEN 0 AND 90),"
    "  screens INTEGER NOT NULL CHECK (screens BETWEEN 1 AND 16),"
    "  max_height INTEGER NOT NULL CHECK (max_height BETWEEN 480 AND 4320),"
    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
    "  updated_at BIGINT NOT NULL)",

    "CREATE TABLE cards ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  method_token TEXT NOT NULL,"
    "  brand TEXT NOT NULL,"
    "  last4 TEXT NOT NULL CHECK (length(last4) = 4),"
    "  exp_month INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),"
    "  exp_year INTEGER NOT NULL CHECK (exp_year BETWEEN 2000 AND 2200),"
    "  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
    "  created_at BIGINT NOT NULL,"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY)",
    "CREATE INDEX cards_account ON cards (account_id, seq)",
    "CREATE UNIQUE INDEX cards_default ON cards (account_id) WHERE is_default = 1",

    "CREATE TABLE subscriptions ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  plan_id TEXT COLLATE \"C\" NOT NULL REFERENCES plans(id),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
    "  pending_plan_id TEXT COLLATE \"C\" REFERENCES plans(id),"
    "  card_id TEXT REFERENCES cards(id) ON DELETE SET NULL,"
    "  cancel_at_period_end INTEGER NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),"
    "  period_start BIGINT NOT NULL,"
    "  period_end BIGINT NOT NULL,"
    "  trial_end BIGINT NOT NULL DEFAULT 0,"
    "  failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),"
    "  next_attempt_at BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  ended_at BIGINT NOT NULL DEFAULT 0,"
    "  anchor BIGINT NOT NULL,"
    "  cycle_months INTEGER NOT NULL CHECK (cycle_months >= 0),"
    "  dunning_from BIGINT NOT NULL DEFAULT 0,"
    "  open_invoice_id TEXT,"
    "  version BIGINT NOT NULL DEFAULT 1,"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    "  CHECK (period_end > period_start),"
    "  CHECK ((status IN (0, 1, 2)) = (ended_at = 0)))",
    "CREATE UNIQUE INDEX subscriptions_live ON subscriptions (account_id) WHERE status IN (0, 1, "
    "2)",
    "CREATE INDEX subscriptions_account ON subscriptions (account_id, created_at, seq)",

    "CREATE TABLE invoices ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  subscription_id TEXT NOT NULL," /* no FK: a refused first charge leaves none */
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  currency TEXT NOT NULL CHECK (length(currency) = 3),"
    "  total BIGINT NOT NULL CHECK (total BETWEEN 0 AND 1000000000000),"
    "  amount_paid BIGINT NOT NULL DEFAULT 0,"
    "  amount_due BIGINT NOT NULL CHECK (amount_due >= 0),"
    "  amount_refunded BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  paid_at BIGINT NOT NULL DEFAULT 0,"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    "  CHECK (amount_paid BETWEEN 0 AND total),"
    "  CHECK (amount_refunded BETWEEN 0 AND amount_paid),"
    "  CHECK (CASE WHEN status IN (2, 3) THEN amount_due = 0"
    "         ELSE amount_paid + amount_due = total END),"
    "  CHECK (status <> 1 OR amount_due = 0),"
    "  CHECK (status <> 0 OR amount_due > 0))",
    "CREATE INDEX invoices_account ON invoices (account_id, created_at, seq)",

    "CREATE TABLE invoice_lines ("
    "  invoice_id TEXT NOT NULL REFERENCES invoices(id),"
    "  n INTEGER NOT NULL,"
    "  description TEXT NOT NULL,"
    "  plan_id TEXT NOT NULL DEFAULT '',"
    "  amount BIGINT NOT NULL CHECK (amount BETWEEN -1000000000000 AND 1000000000000),"
    "  period_start BIGINT NOT NULL DEFAULT 0,"
    "  period_end BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (invoice_id, n))",

    "CREATE TABLE payments ("
    "  id TEXT PRIMARY KEY,"
    "  invoice_id TEXT NOT NULL REFERENCES invoices(id),"
    "  account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  card_id TEXT NOT NULL DEFAULT '',"
    "  method_token TEXT NOT NULL,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 2),"
    "  amount BIGINT NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),"
    "  currency TEXT NOT NULL CHECK (length(currency) = 3),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  provider_key TEXT NOT NULL UNIQUE,"
    "  reference TEXT NOT NULL DEFAULT '',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  idem_scope TEXT NOT NULL DEFAULT '',"
    "  idem_key TEXT NOT NULL DEFAULT '',"
    "  created_at BIGINT NOT NULL,"
    "  settled_at BIGINT NOT NULL DEFAULT 0,"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY)",
    "CREATE INDEX payments_invoice ON payments (invoice_id)",
    "CREATE UNIQUE INDEX payments_one_pending ON payments (account_id) WHERE status = 0",
    "CREATE UNIQUE INDEX payments_one_success ON payments (invoice_id) WHERE status = 1",
    "CREATE INDEX payments_pending_idem ON payments (idem_scope, idem_key) WHERE status = 0",

    "CREATE TABLE refunds ("
    "  id TEXT PRIMARY KEY,"
    "  invoice_id TEXT NOT NULL REFERENCES invoices(id),"
    "  payment_id TEXT NOT NULL REFERENCES payments(id),"
    "  amount BIGINT NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  provider_key TEXT NOT NULL UNIQUE,"
    "  reference TEXT NOT NULL DEFAULT '',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  idem_scope TEXT NOT NULL DEFAULT '',"
    "  idem_key TEXT NOT NULL DEFAULT '',"
    "  created_at BIGINT NOT NULL,"
    "  settled_at BIGINT NOT NULL DEFAULT 0,"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY)",
    "CREATE INDEX refunds_invoice ON refunds (invoice_id)",
    "CREATE UNIQUE INDEX refunds_one_pending ON refunds (invoice_id) WHERE status = 0",
    "CREATE INDEX refunds_pending_idem ON refunds (idem_scope, idem_key) WHERE status = 0",

    "CREATE TABLE idempotency_keys ("
    "  scope TEXT NOT NULL,"
    "  key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
    "  request_hash TEXT NOT NULL,"
    "  code INTEGER NOT NULL DEFAULT 0,"
    "  response TEXT," /* NULL while the request is in progress */
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (scope, key))",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",

    /* One row per (account, device): a device holds at most one screen. A lease
     * is live while expires_at > now (postgres/leases.c). */
    "CREATE TABLE screen_leases ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  device_id TEXT NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),"
    "  device_name TEXT NOT NULL DEFAULT '' CHECK (octet_length(device_name) <= 128),"
    "  started_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL CHECK (expires_at > started_at),"
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    "  UNIQUE (account_id, device_id))",
    "CREATE INDEX screen_leases_live ON screen_leases (account_id, expires_at)",
    "CREATE INDEX screen_leases_profile ON screen_leases (profile_id)",
    "CREATE INDEX screen_leases_title ON screen_leases (title_id)",
    "CREATE INDEX screen_leases_expiry ON screen_leases (expires_at)", NULL};
