#include "engine/blocking_pool.hpp"

#include <exception>
#include <pthread.h>
#include <optional>
#include <utility>
#include <string>

#include "actors/support/log.hpp"

namespace hookwerk::engine {

namespace {

void guarded(const std::function<void()>& f, const char* what) {
  try {
    f();
  } catch (const std::exception& e) {
    log::error(std::string{what} + " failed: " + e.what());
  } catch (...) {
    log::error(std::string{what} + " failed");
  }
}

} // namespace

blocking_pool::blocking_pool(blocking_pool_options opts)
  : jobs_(opts.max_queued, opts.max_queued_per_key) {
  auto threads = std::max<size_t>(opts.threads, 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { work(); });
}

blocking_pool::~blocking_pool() { stop(); }

post_result blocking_pool::post(std::string_view key, std::function<void()> run,
                                std::function<void()> cancel) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return post_result::stopped;
    if (jobs_.push(key, job{std::move(run), std::move(cancel)}) != admission::accepted)
      return post_result::full;
  }
  cv_.notify_all();
  return post_result::queued;
}

void blocking_pool::stop() {
  std::vector<job> dropped;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
    dropped = jobs_.take_all();
  }
  cv_.notify_all();
  for (auto& j : dropped)
    if (j.cancel)
      guarded(j.cancel, "cancelling a background job");
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

size_t blocking_pool::queued() {
  std::lock_guard<std::mutex> guard{mtx_};
  return jobs_.size();
}

void blocking_pool::work() {
  ::pthread_setname_np(::pthread_self(), "hw-blocking"); // as top -H and perf show it
  auto idle = [this](std::string_view key) { return running_.find(key) == running_.end(); };
  for (;;) {
    std::optional<std::pair<std::string, job>> next;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || jobs_.any_of(idle); });
      if (stopping_)
        return;
      next = jobs_.pop_if(idle);
      running_.insert(next->first);
    }
    guarded(next->second.run, "background job");
    {
      std::lock_guard<std::mutex> guard{mtx_};
      running_.erase(next->first);
    }
    cv_.notify_all();
  }
}

} // namespace hookwerk::engine
