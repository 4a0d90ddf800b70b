#include "api/front.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/form.hpp"
#include "actors/support/ingest_parser.hpp"
#include "actors/support/json_writer.hpp"
#include "actors/support/log.hpp"
#include "actors/support/params.hpp"
#include "actors/support/resolver.hpp"
#include "actors/support/time_format.hpp"
#include "actors/support/url.hpp"
#include "api/error_table.hpp"
#include "api/login_limiter.hpp"
#include "api/metrics_text.hpp"
#include "api/pages.hpp"
#include "api/views.hpp"
#include "engine/blocking_pool.hpp"
#include "engine/runtime.hpp"

namespace hookwerk::api {

/// How long a successful login is remembered (SPEC §2).
constexpr auto login_memo_ttl = std::chrono::minutes{10};

/// Upper bound on remembered logins; beyond it expired ones are swept, and if
/// that is not enough all are forgotten (they are only a cache).
constexpr size_t login_memo_capacity = 100'000;

enum class mgmt_function {
  create_webhook,
  get_webhooks,
  activate_webhook,
  delete_webhook_by_id,
  get_webhook_attempts,
  get_notifications,
};

/// GetWebHookAttempts' `limit`: default and maximum (SPEC §3).
constexpr uint64_t attempts_default_limit = 50;
constexpr uint64_t attempts_max_limit = 1000;

/// One management call on its way through authentication and validation.
struct mgmt_call {
  std::shared_ptr<http_exchange> ex;
  mgmt_function function = mgmt_function::get_webhooks;
  support::params params;
  std::string username;
  std::string password;
  std::string client;  ///< client_key() of the remote address, for the failed-login limit
  std::string memo_key;
  create_hook_cmd create;
};

using call_ptr = std::shared_ptr<mgmt_call>;

} // namespace hookwerk::api

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<hookwerk::api::http_exchange>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::api::call_ptr)

namespace hookwerk::api {

namespace {

using verified_atom = caf::atom_constant<caf::atom("verified")>;
using checked_atom = caf::atom_constant<caf::atom("checked")>;
using hashed_atom = caf::atom_constant<caf::atom("hashed")>;

struct login_memo {
  std::string username;
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point expires;
};

/// What an unknown username is checked against, so that it costs the same
/// hash as a wrong password of a known one and the answer's timing does not
/// tell them apart. Nothing can match it: the hash is random, not derived.
account_credentials dummy_credentials(uint32_t iterations) {
  account_credentials cred;
  cred.salt = support::random_bytes(16);
  cred.password_hash = support::random_bytes(32);
  cred.iterations = iterations;
  return cred;
}

struct front_state {
  engine::runtime* rt = nullptr;
  std::string memo_secret = support::random_bytes(32);
  std::unordered_map<std::string, login_memo> logins;
  std::optional<login_limiter> limiter;
  account_credentials dummy;
  support::ingest_parser parser;
};

using front_ptr = caf::stateful_actor<front_state>*;

// -- helpers ------------------------------------------------------------------

/// How long the front waits for an actor's answer to one request
/// (--request-timeout); then the client gets timeout_response().
std::chrono::milliseconds deadline(front_ptr self) {
  return self->state.rt->config().request_timeout;
}

bool timed_out(const caf::error& err) { return err == caf::sec::request_timeout; }

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& ch : out)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<mgmt_function> find_function(std::string_view name) {
  auto n = lower(name);
  if (n == "createwebhook")
    return mgmt_function::create_webhook;
  if (n == "getwebhooks")
    return mgmt_function::get_webhooks;
  if (n == "activatewebhook")
    return mgmt_function::activate_webhook;
  if (n == "deletewebhookbyid")
    return mgmt_function::delete_webhook_by_id;
  if (n == "getwebhookattempts")
    return mgmt_function::get_webhook_attempts;
  if (n == "getnotifications")
    return mgmt_function::get_notifications;
  return std::nullopt;
}

bool is_event(front_ptr self, std::string_view name) {
  const auto& events = self->state.rt->config().events;
  return std::find(events.begin(), events.end(), name) != events.end();
}

void reply(const call_ptr& c, mw_error err, std::string_view param = {}) {
  c->ex->respond(envelope_error_response(err, envelope_message(err, param)));
}

void reply_failure(const call_ptr& c, const caf::error& err) {
  if (timed_out(err)) {
    log::warn("management call timed out");
    return c->ex->respond(timeout_response(c->ex->request.path));
  }
  auto code = envelope_error(code_of(err));
  if (code == mw_error::internal)
    log::error("management call failed: " + detail_of(err));
  reply(c, code);
}

/// Error 9 "try again": the blocking pool has no room for the call's job now,
/// or stopped before running it.
void reply_try_again(const call_ptr& c) { c->ex->respond(try_again_envelope()); }

/// Keys of the blocking pool's queues (it serves them in turn): password
/// checks per username, DNS checks and account creations in queues of their
/// own, so none of them waits behind a flood of guesses at a username.
std::string password_job_key(std::string_view username) { return "login:" + std::string{username}; }
std::string dns_job_key(std::string_view username) { return "dns:" + std::string{username}; }
std::string account_job_key(std::string_view username) { return "create:" + std::string{username}; }

/// True when `r` holds a value; otherwise answers error 2 or 3 naming `name`.
template <class T>
bool require(const call_ptr& c, const support::param_result<T>& r, std::string_view name) {
  if (r.absent()) {
    reply(c, mw_error::missing_parameter, name);
    return false;
  }
  if (r.invalid()) {
    reply(c, mw_error::invalid_parameter, name);
    return false;
  }
  return true;
}

bool bearer_matches(std::string_view header, std::string_view token) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size() || lower(header.substr(0, scheme.size())) != scheme)
    return false;
  auto given = header.substr(scheme.size());
  while (!given.empty() && given.front() == ' ')
    given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ')
    given.remove_suffix(1);
  return support::constant_time_equal(given, token);
}

bool valid_username(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '@'
           || ch == '-';
  });
}

void remember_login(front_ptr self, const call_ptr& c, uint64_t generation) {
  auto& logins = self->state.logins;
  auto now = std::chrono::steady_clock::now();
  if (logins.size() >= login_memo_capacity) {
    for (auto i = logins.begin(); i != logins.end();)
      i = i->second.expires <= now ? logins.erase(i) : std::next(i);
    if (logins.size() >= login_memo_capacity)
      logins.clear();
  }
  logins[c->memo_key] = login_memo{c->username, generation, now + login_memo_ttl};
}

void forget_logins_of(front_ptr self, const std::string& username) {
  auto& logins = self->state.logins;
  for (auto i = logins.begin(); i != logins.end();)
    i = i->second.username == username ? logins.erase(i) : std::next(i);
}

// -- management API -----------------------------------------------------------

void submit_create(front_ptr self, const call_ptr& c) {
  self->request(self->state.rt->registry(), deadline(self), c->create)
    .then([c](hook_view& view) { c->ex->respond(envelope_ok(hook_json(view))); },
          [c](caf::error& err) {
            // --max-hooks-per-account: error 3, the message says which limit.
            if (code_of(err) == errc::limit_exceeded)
              return reply(c, mw_error::invalid_parameter, detail_of(err));
            reply_failure(c, err);
          });
}

void create_webhook(front_ptr self, const call_ptr& c) {
  auto app = c->params.get_string("app");
  if (!require(c, app, "app"))
    return;
  if (app.value.empty() || app.value.size() > 255)
    return reply(c, mw_error::invalid_parameter, "app");
  auto event = c->params.get_string("event");
  if (!require(c, event, "event"))
    return;
  if (!is_event(self, event.value))
    return reply(c, mw_error::invalid_parameter, "event");
  auto url = c->params.get_string("url");
  if (!require(c, url, "url"))
    return;
  auto parsed = support::parse_hook_url(url.value);
  if (!parsed)
    return reply(c, mw_error::invalid_parameter, "url");
  c->create = create_hook_cmd{c->username, std::move(app.value), std::move(event.value),
                              std::move(url.value)};
  if (self->state.rt->config().allow_private_targets)
    return submit_create(self, c);
  auto front = caf::actor_cast<caf::actor>(self);
  auto queued = self->state.rt->blocking().post(
    dns_job_key(c->username),
    [front, c, target = std::move(*parsed)] {
      auto check = support::check_target(target, false);
      caf::anon_send(front, checked_atom::value, c,
                     check.verdict == support::target_verdict::allowed, std::move(check.detail));
    },
    [c] { reply_try_again(c); });
  if (queued != engine::post_result::queued)
    reply_try_again(c);
}

void get_webhooks(front_ptr self, const call_ptr& c) {
  auto app = c->params.get_string("app");
  if (app.invalid())
    return reply(c, mw_error::invalid_parameter, "app");
  auto event = c->params.get_string("event");
  if (event.invalid() || (event.ok() && !event.value.empty() && !is_event(self, event.value)))
    return reply(c, mw_error::invalid_parameter, "event");
  list_hooks_cmd cmd{c->username, std::move(app.value), std::move(event.value)};
  self->request(self->state.rt->registry(), deadline(self), std::move(cmd))
    .then([c](std::vector<hook_view>& views) { c->ex->respond(envelope_ok(hooks_json(views))); },
          [c](caf::error& err) { reply_failure(c, err); });
}

void activate_webhook(front_ptr self, const call_ptr& c) {
  auto id = c->params.get_positive_id("id");
  if (!require(c, id, "id"))
    return;
  auto replay = c->params.get_bool("replayEvents");
  if (replay.invalid())
    return reply(c, mw_error::invalid_parameter, "replayEvents");
  self->request(self->state.rt->registry(), deadline(self), activate_atom::value, c->username,
                id.value, replay.ok() && replay.value)
    .then([c](activate_result& r) { c->ex->respond(envelope_ok(activate_json(r))); },
          [c](caf::error& err) { reply_failure(c, err); });
}

void delete_webhook(front_ptr self, const call_ptr& c) {
  auto id = c->params.get_positive_id("id");
  if (!require(c, id, "id"))
    return;
  self->request(self->state.rt->registry(), deadline(self), delete_atom::value, c->username,
                id.value)
    .then(
      [c](uint64_t deleted) {
        support::json_writer w;
        w.begin_object();
        w.member("id", deleted);
        w.member("deleted", true);
        w.end_object();
        c->ex->respond(envelope_ok(w.str()));
      },
      [c](caf::error& err) { reply_failure(c, err); });
}

void get_webhook_attempts(front_ptr self, const call_ptr& c) {
  auto id = c->params.get_positive_id("id");
  if (!require(c, id, "id"))
    return;
  auto limit = c->params.get_limit("limit");
  if (limit.invalid())
    return reply(c, mw_error::invalid_parameter, "limit");
  auto n = limit.ok() ? std::min(limit.value, attempts_max_limit) : attempts_default_limit;
  self->request(self->state.rt->registry(), deadline(self), attempts_atom::value, c->username,
                id.value, n)
    .then([c](std::vector<storage::attempt_record>& attempts) {
            c->ex->respond(envelope_ok(attempts_json(attempts)));
          },
          [c](caf::error& err) { reply_failure(c, err); });
}

void get_notifications(front_ptr self, const call_ptr& c) {
  auto unread = c->params.get_bool("unreadOnly");
  if (unread.invalid())
    return reply(c, mw_error::invalid_parameter, "unreadOnly");
  auto limit = c->params.get_limit("limit");
  if (limit.invalid())
    return reply(c, mw_error::invalid_parameter, "limit");
  auto offset = c->params.get_offset("offset");
  if (offset.invalid())
    return reply(c, mw_error::invalid_parameter, "offset");
  // Default and maximum: every notification the account keeps.
  auto most = self->state.rt->context().limits.notifications_kept;
  auto n = limit.ok() ? std::min(limit.value, most) : most;
  const auto& base = *self->state.rt->config().public_url;
  self->request(self->state.rt->registry(), deadline(self), notes_atom::value, c->username,
                unread.ok() && unread.value, offset.ok() ? offset.value : uint64_t{0}, n)
    .then([c, base](std::vector<storage::notification_record>& notes) {
            c->ex->respond(envelope_ok(notifications_json(notes, base)));
          },
          [c](caf::error& err) { reply_failure(c, err); });
}

void dispatch(front_ptr self, const call_ptr& c) {
  switch (c->function) {
    case mgmt_function::create_webhook: return create_webhook(self, c);
    case mgmt_function::get_webhooks: return get_webhooks(self, c);
    case mgmt_function::activate_webhook: return activate_webhook(self, c);
    case mgmt_function::delete_webhook_by_id: return delete_webhook(self, c);
    case mgmt_function::get_webhook_attempts: return get_webhook_attempts(self, c);
    case mgmt_function::get_notifications: return get_notifications(self, c);
  }
}

/// Hashes the password against `cred` on the blocking pool, in the queue of
/// its username, and sends `verified` back; answers "try again" when that
/// queue is full or the pool stops first.
void verify_password(front_ptr self, const call_ptr& c, const account_credentials& cred,
                     bool known) {
  auto front = caf::actor_cast<caf::actor>(self);
  auto queued = self->state.rt->blocking().post(
    password_job_key(c->username),
    [front, c, cred, known] {
      auto length = std::max<size_t>(cred.password_hash.size(), 1);
      auto hash = support::pbkdf2_sha256(c->password, cred.salt, cred.iterations, length);
      bool ok = support::constant_time_equal(hash, cred.password_hash) && known;
      caf::anon_send(front, verified_atom::value, c, ok, cred.generation);
    },
    [c] { reply_try_again(c); });
  if (queued != engine::post_result::queued)
    reply_try_again(c);
}

/// Checks the credentials, from memory when they were verified recently, else
/// by hashing on the blocking pool; continues with dispatch(). A client that
/// has used up its failed logins for this username is refused before either.
void authenticate(front_ptr self, const call_ptr& c) {
  auto user = c->params.get_string("username");
  auto pass = c->params.get_string("password");
  if (!user.ok() || !pass.ok() || user.value.empty() || pass.value.empty())
    return reply(c, mw_error::login_failed);
  c->username = std::move(user.value);
  c->password = std::move(pass.value);
  c->client = client_key(c->ex->request.remote_address);
  if (!self->state.limiter->allowed(c->client, c->username, std::chrono::steady_clock::now()))
    return reply(c, mw_error::login_failed);
  std::string material = c->username;
  material.push_back('\0');
  material += c->password;
  c->memo_key = support::hmac_sha256(self->state.memo_secret, material);
  self->request(self->state.rt->registry(), deadline(self), login_atom::value, c->username)
    .then(
      [self, c](account_credentials& cred) {
        auto& logins = self->state.logins;
        if (auto i = logins.find(c->memo_key);
            i != logins.end() && i->second.generation == cred.generation
            && i->second.expires > std::chrono::steady_clock::now())
          return dispatch(self, c);
        verify_password(self, c, cred, true);
      },
      [self, c](caf::error& err) {
        if (code_of(err) == errc::login_failed)
          return verify_password(self, c, self->state.dummy, false);
        reply_failure(c, err);
      });
}

void handle_management(front_ptr self, std::shared_ptr<http_exchange> ex, std::string_view name) {
  auto fn = find_function(name);
  if (!fn) {
    ex->respond(envelope_error_response(mw_error::invalid_parameter,
                                        "unknown function: " + std::string{name}, 404));
    return;
  }
  if (ex->request.method != "POST") {
    auto res = envelope_error_response(mw_error::invalid_parameter,
                                       "method not allowed: use POST", 405);
    res.headers.emplace_back("Allow", "POST");
    ex->respond(std::move(res));
    return;
  }
  auto params = support::params::decode(ex->request.content_type, ex->request.body);
  if (!params) {
    ex->respond(envelope_error_response(mw_error::invalid_parameter,
                                        envelope_message(mw_error::invalid_parameter, "body")));
    return;
  }
  auto c = std::make_shared<mgmt_call>();
  c->ex = std::move(ex);
  c->function = *fn;
  c->params = std::move(*params);
  authenticate(self, c);
}

// -- admin API ----------------------------------------------------------------

void create_account(front_ptr self, std::shared_ptr<http_exchange> ex) {
  auto params = support::params::from_json(ex->request.body);
  if (!params)
    return ex->respond(json_error(400, "body must be a JSON object"));
  auto user = params->get_string("username");
  if (user.absent())
    return ex->respond(json_error(400, "missing username"));
  if (!user.ok() || !valid_username(user.value))
    return ex->respond(
      json_error(400, "invalid username: 1-64 characters of A-Z a-z 0-9 . _ @ -"));
  auto pass = params->get_string("password");
  if (pass.absent())
    return ex->respond(json_error(400, "missing password"));
  if (!pass.ok() || pass.value.empty() || pass.value.size() > 1024)
    return ex->respond(json_error(400, "invalid password: 1-1024 bytes"));
  auto front = caf::actor_cast<caf::actor>(self);
  auto key = account_job_key(user.value);
  auto iterations = self->state.rt->config().password_iterations;
  auto queued = self->state.rt->blocking().post(
    key,
    [front, ex, iterations, username = std::move(user.value), password = std::move(pass.value)] {
      storage::account_record rec;
      rec.username = username;
      rec.salt = support::random_bytes(16);
      rec.iterations = iterations;
      rec.password_hash = support::pbkdf2_sha256(password, rec.salt, rec.iterations, 32);
      rec.created_at_ms = support::now_ms();
      caf::anon_send(front, hashed_atom::value, ex, std::move(rec));
    },
    [ex] { ex->respond(try_again_response()); });
  if (queued != engine::post_result::queued)
    ex->respond(try_again_response());
}

void store_account(front_ptr self, std::shared_ptr<http_exchange> ex, storage::account_record rec) {
  self->request(self->state.rt->registry(), deadline(self), create_atom::value, std::move(rec))
    .then(
      [ex](std::string& username) {
        support::json_writer w;
        w.begin_object();
        w.member("username", username);
        w.end_object();
        http_response res;
        res.status = 201;
        res.body = w.take();
        ex->respond(std::move(res));
      },
      [ex](caf::error& err) {
        if (timed_out(err))
          return ex->respond(timeout_response(ex->request.path));
        auto code = code_of(err);
        if (code == errc::already_exists)
          return ex->respond(json_error(409, "account exists"));
        log::error("creating an account failed: " + detail_of(err));
        ex->respond(json_error(http_status(code), "internal error"));
      });
}

void delete_account(front_ptr self, std::shared_ptr<http_exchange> ex, std::string_view raw_name) {
  auto username = support::percent_decode(raw_name, false);
  if (!username || !valid_username(*username))
    return ex->respond(json_error(404, "unknown account"));
  self->request(self->state.rt->registry(), deadline(self), delete_atom::value, *username)
    .then(
      [self, ex](std::string& name) {
        forget_logins_of(self, name);
        log::info("account " + name + " deleted");
        http_response res;
        res.status = 204;
        res.content_type = "text/plain";
        ex->respond(std::move(res));
      },
      [ex](caf::error& err) {
        if (timed_out(err))
          return ex->respond(timeout_response(ex->request.path));
        auto code = code_of(err);
        if (code == errc::not_found)
          return ex->respond(json_error(404, "unknown account"));
        log::error("deleting an account failed: " + detail_of(err));
        ex->respond(json_error(http_status(code), "internal error"));
      });
}

void handle_admin(front_ptr self, std::shared_ptr<http_exchange> ex) {
  if (!bearer_matches(ex->request.authorization, self->state.rt->admin_token())) {
    auto res = json_error(401, "missing or wrong admin token");
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    return ex->respond(std::move(res));
  }
  constexpr std::string_view accounts = "/admin/accounts";
  const auto& path = ex->request.path;
  const auto& method = ex->request.method;
  if (path == accounts) {
    if (method != "POST")
      return ex->respond(json_error(405, "method not allowed: use POST"));
    return create_account(self, std::move(ex));
  }
  if (path.starts_with(accounts) && path[accounts.size()] == '/') {
    if (method != "DELETE")
      return ex->respond(json_error(405, "method not allowed: use DELETE"));
    auto name = std::string_view{path}.substr(accounts.size() + 1);
    return delete_account(self, std::move(ex), name);
  }
  ex->respond(json_error(404, "not found"));
}

// -- event ingestion ----------------------------------------------------------

void handle_ingest(front_ptr self, std::shared_ptr<http_exchange> ex) {
  if (ex->request.method != "POST") {
    auto res = json_error(405, "method not allowed: use POST");
    res.headers.emplace_back("Allow", "POST");
    return ex->respond(std::move(res));
  }
  if (!bearer_matches(ex->request.authorization, self->state.rt->ingest_token())) {
    auto res = json_error(401, "missing or wrong ingest token");
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    return ex->respond(std::move(res));
  }
  auto parsed = self->state.parser.parse(ex->request.content_type, ex->request.body);
  if (!parsed.error.empty())
    return ex->respond(json_error(400, parsed.error));
  ingest_cmd cmd{std::move(parsed.items), parsed.batch};
  auto batch = cmd.batch;
  self->request(self->state.rt->registry(), deadline(self), std::move(cmd))
    .then(
      [ex, batch](ingest_reply& r) {
        support::json_writer w;
        w.begin_object();
        if (batch) {
          w.key("ids");
          w.begin_array();
          for (const auto& id : r.ids)
            w.value(id);
          w.end_array();
        } else {
          w.member("id", r.ids.empty() ? std::string{} : r.ids.front());
          w.member("webhooks", r.hooks);
        }
        w.end_object();
        http_response res;
        res.status = 202;
        res.body = w.take();
        ex->respond(std::move(res));
      },
      [ex](caf::error& err) {
        if (timed_out(err))
          return ex->respond(timeout_response(ex->request.path));
        auto code = code_of(err);
        if (code == errc::invalid_parameter)
          return ex->respond(json_error(400, detail_of(err)));
        if (code == errc::limit_exceeded)
          return ex->respond(json_error(413, detail_of(err)));
        if (code == errc::overloaded || code == errc::storage_unavailable) {
          auto res = json_error(503, code == errc::overloaded ? "overloaded, retry later"
                                                              : "storage unavailable, retry later");
          res.headers.emplace_back("Retry-After", "1");
          return ex->respond(std::move(res));
        }
        log::error("ingestion failed: " + detail_of(err));
        ex->respond(json_error(http_status(code), "internal error"));
      });
}

// -- notification links -------------------------------------------------------

/// `/notifications/<id>/activate`: GET shows the page, POST (form fields
/// `token`, `replay`) reactivates. A wrong or used token is a 404.
void handle_notification_link(front_ptr self, std::shared_ptr<http_exchange> ex,
                              std::string_view rest) {
  constexpr std::string_view suffix = "/activate";
  auto slash = rest.find('/');
  uint64_t id = 0;
  bool valid = slash != std::string_view::npos && slash > 0 && slash <= 19
               && rest.substr(slash) == suffix;
  for (size_t i = 0; valid && i < slash; ++i) {
    if (rest[i] < '0' || rest[i] > '9')
      valid = false;
    else
      id = id * 10 + static_cast<uint64_t>(rest[i] - '0');
  }
  if (!valid)
    return ex->respond(activation_error_page(404, "Page not found"));
  const auto& method = ex->request.method;
  auto not_found = [ex](caf::error& err) {
    if (timed_out(err)) {
      auto res = activation_error_page(503, "The server is busy; please try again");
      res.headers.emplace_back("Retry-After", "1");
      return ex->respond(std::move(res));
    }
    if (code_of(err) == errc::not_found)
      return ex->respond(activation_error_page(404, "This link is not valid or was already used"));
    if (code_of(err) == errc::expired)
      return ex->respond(activation_expired_page());
    log::error("notification link failed: " + detail_of(err));
    ex->respond(activation_error_page(500, "Something went wrong; please try again"));
  };
  if (method == "GET") {
    auto query = support::parse_form_urlencoded(ex->request.query);
    std::string token;
    if (query)
      for (auto& [name, value] : *query)
        if (name == "token")
          token = value;
    if (token.empty())
      return ex->respond(activation_error_page(404, "This link is not valid or was already used"));
    self->request(self->state.rt->registry(), deadline(self), link_atom::value, id, token)
      .then([ex, token](notification_page& page) { ex->respond(activation_page(page, token)); },
            not_found);
    return;
  }
  if (method != "POST") {
    auto res = activation_error_page(405, "Method not allowed");
    res.headers.emplace_back("Allow", "GET, POST");
    return ex->respond(std::move(res));
  }
  auto form = support::parse_form_urlencoded(ex->request.body);
  std::string token;
  std::string replay = "0";
  if (form)
    for (auto& [name, value] : *form) {
      if (name == "token")
        token = value;
      else if (name == "replay")
        replay = value;
    }
  if (!form || (replay != "0" && replay != "1"))
    return ex->respond(activation_error_page(400, "Malformed request"));
  if (token.empty())
    return ex->respond(activation_error_page(404, "This link is not valid or was already used"));
  bool replay_events = replay == "1";
  self->request(self->state.rt->registry(), deadline(self), link_atom::value, id, token,
                replay_events)
    .then([ex, replay_events](activate_result& r) {
            ex->respond(activation_done_page(r, replay_events));
          },
          not_found);
}

// -- operations ---------------------------------------------------------------

void handle_metrics(front_ptr self, std::shared_ptr<http_exchange> ex) {
  self->request(self->state.rt->registry(), deadline(self), stats_atom::value)
    .then(
      [self, ex](const registry_stats& stats) {
        auto& ctx = self->state.rt->context();
        auto out = metrics_text(stats, ctx.stats, ctx.hook_actors.load(), ctx.writer->stats());
        http_response res;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = std::move(out);
        ex->respond(std::move(res));
      },
      [ex](caf::error& err) {
        if (timed_out(err))
          return ex->respond(timeout_response(ex->request.path));
        log::error("metrics failed: " + detail_of(err));
        ex->respond(json_error(500, "internal error"));
      });
}

void handle(front_ptr self, std::shared_ptr<http_exchange> ex) {
  std::string_view path = ex->request.path;
  if (path.starts_with(management_prefix))
    return handle_management(self, std::move(ex), path.substr(management_prefix.size()));
  if (path == "/v1/events")
    return handle_ingest(self, std::move(ex));
  if (path.starts_with("/notifications/"))
    return handle_notification_link(self, std::move(ex), path.substr(15));
  if (path.starts_with("/admin/") || path == "/admin")
    return handle_admin(self, std::move(ex));
  if (path == "/metrics") {
    if (ex->request.method != "GET")
      return ex->respond(json_error(405, "method not allowed: use GET"));
    return handle_metrics(self, std::move(ex));
  }
  ex->respond(json_error(404, "not found"));
}

caf::behavior front_impl(front_ptr self, engine::runtime* rt) {
  self->state.rt = rt;
  self->state.limiter.emplace(rt->config().max_failed_logins);
  self->state.dummy = dummy_credentials(rt->config().password_iterations);
  return {
    [self](std::shared_ptr<http_exchange>& ex) { handle(self, std::move(ex)); },
    [self](verified_atom, call_ptr& c, bool ok, uint64_t generation) {
      if (!ok) {
        self->state.limiter->failed(c->client, c->username, std::chrono::steady_clock::now());
        return reply(c, mw_error::login_failed);
      }
      remember_login(self, c, generation);
      dispatch(self, c);
    },
    [self](checked_atom, call_ptr& c, bool allowed, const std::string& detail) {
      if (!allowed) {
        log::info("CreateWebHook refused for account " + c->username + ": " + detail);
        return reply(c, mw_error::target_not_allowed);
      }
      submit_create(self, c);
    },
    [self](hashed_atom, std::shared_ptr<http_exchange>& ex, storage::account_record& rec) {
      store_account(self, std::move(ex), std::move(rec));
    },
  };
}

} // namespace

caf::actor spawn_front(engine::runtime& rt) { return rt.system().spawn(front_impl, &rt); }

void send_to_front(const caf::actor& front, std::shared_ptr<http_exchange> ex) {
  caf::anon_send(front, std::move(ex));
}

void stop_front(const caf::actor& front) {
  caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
}

} // namespace hookwerk::api
