#include "api/metrics_text.hpp"

#include <cstdio>

namespace hookwerk::api {

namespace {

class writer {
public:
  void header(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(const char* name, const std::string& labels, uint64_t value) {
    out_ += name;
    out_ += labels;
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }

  void sample(const char* name, const std::string& labels, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", value);
    out_ += name;
    out_ += labels;
    out_ += ' ';
    out_ += buf;
    out_ += '\n';
  }

  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

uint64_t non_negative(int64_t x) { return x < 0 ? 0 : static_cast<uint64_t>(x); }

} // namespace

std::string metrics_text(const registry_stats& registry, const metrics& m, int64_t hook_actors,
                         const storage::writer_stats& storage) {
  writer w;
  w.header("hookwerk_events_ingested_total", "counter", "Events accepted by /v1/events.");
  w.sample("hookwerk_events_ingested_total", "", m.events_ingested.load());

  w.header("hookwerk_deliveries_total", "counter", "Delivery attempts by outcome.");
  w.sample("hookwerk_deliveries_total", "{outcome=\"success\"}", m.deliveries_success.load());
  w.sample("hookwerk_deliveries_total", "{outcome=\"failure\"}", m.deliveries_failure.load());

  w.header("hookwerk_delivery_local_failures_total", "counter",
           "Failed delivery attempts (also counted as outcome=\"failure\") that failed on the "
           "server's own side (resolver, descriptors, ports, shutdown) and so never count "
           "toward deactivating a webhook.");
  w.sample("hookwerk_delivery_local_failures_total", "", m.deliveries_local_failure.load());

  w.header("hookwerk_stuck_hooks_repaired_total", "counter",
           "Webhooks the self-check found stuck (pending events and no attempt in flight or "
           "wake-up armed, or an attempt whose outcome never came) and repaired; stays 0 "
           "unless there is a bug.");
  w.sample("hookwerk_stuck_hooks_repaired_total", "", m.stuck_hooks_repaired.load());
  w.header("hookwerk_self_checks_total", "counter",
           "Self-checks completed (every running webhook actor checked; every minute, or "
           "--self-check-interval).");
  w.sample("hookwerk_self_checks_total", "", m.self_checks.load());

  w.header("hookwerk_delivery_duration_seconds", "histogram",
           "Duration of delivery attempts (connect to full response).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < histogram::bounds.size(); ++i) {
    cumulative += m.delivery_duration.bucket(i);
    char le[32];
    std::snprintf(le, sizeof le, "%g", histogram::bounds[i]);
    w.sample("hookwerk_delivery_duration_seconds_bucket", std::string{"{le=\""} + le + "\"}",
             cumulative);
  }
  cumulative += m.delivery_duration.bucket(histogram::bounds.size());
  w.sample("hookwerk_delivery_duration_seconds_bucket", "{le=\"+Inf\"}", cumulative);
  w.sample("hookwerk_delivery_duration_seconds_sum", "",
           static_cast<double>(m.delivery_duration.sum_us()) / 1e6);
  w.sample("hookwerk_delivery_duration_seconds_count", "", cumulative);

  w.header("hookwerk_webhooks", "gauge", "Webhooks by state.");
  w.sample("hookwerk_webhooks", "{state=\"active\"}", registry.active_hooks);
  w.sample("hookwerk_webhooks", "{state=\"inactive\"}", registry.inactive_hooks);

  w.header("hookwerk_pending_events", "gauge", "Events waiting for delivery (all hooks).");
  w.sample("hookwerk_pending_events", "", non_negative(m.pending_events.load()));

  w.header("hookwerk_buffered_events", "gauge", "Events held in buffers of inactive hooks.");
  w.sample("hookwerk_buffered_events", "", non_negative(m.buffered_events.load()));

  w.header("hookwerk_events_dropped_total", "counter",
           "Events dropped: buffer full, after --buffer-retention, or purged after --buffer-max-age.");
  w.sample("hookwerk_events_dropped_total", "", m.events_dropped.load());

  w.header("hookwerk_events_expired_total", "counter",
           "Events given up after --max-event-age of failing attempts.");
  w.sample("hookwerk_events_expired_total", "", m.events_expired.load());

  w.header("hookwerk_accounts", "gauge", "Accounts.");
  w.sample("hookwerk_accounts", "", registry.accounts);

  w.header("hookwerk_hook_actors", "gauge", "Hook actors running.");
  w.sample("hookwerk_hook_actors", "", non_negative(hook_actors));

  w.header("hookwerk_storage_healthy", "gauge",
           "1 while the database accepts writes, 0 from a failed write until it recovers.");
  w.sample("hookwerk_storage_healthy", "", uint64_t{storage.healthy ? 1u : 0u});

  w.header("hookwerk_storage_errors_total", "counter", "Synced writes the database failed.");
  w.sample("hookwerk_storage_errors_total", "", storage.failed_groups);

  w.header("hookwerk_storage_recoveries_total", "counter",
           "Times the database accepted writes again after failing.");
  w.sample("hookwerk_storage_recoveries_total", "", storage.recoveries);

  w.header("hookwerk_storage_written_bytes_total", "counter",
           "Bytes written to the database's write-ahead log: the size of RocksDB's write "
           "batches of every successful write (the log adds a few bytes of framing).");
  w.sample("hookwerk_storage_written_bytes_total", "", storage.written_bytes);

  w.header("hookwerk_storage_synced_written_bytes_total", "counter",
           "Of hookwerk_storage_written_bytes_total, the bytes of writes that waited for an "
           "fsync: ingestion, changes of webhooks and accounts, deactivations (not delivery "
           "outcomes).");
  w.sample("hookwerk_storage_synced_written_bytes_total", "", storage.synced_written_bytes);
  return w.take();
}

} // namespace hookwerk::api
