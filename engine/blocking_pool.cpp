#include "engine/blocking_pool.hpp"

#include <exception>

#include "actors/support/log.hpp"

namespace hookwerk::engine {

blocking_pool::blocking_pool(size_t threads) {
  if (threads == 0)
    threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

blocking_pool::~blocking_pool() { stop(); }

bool blocking_pool::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void blocking_pool::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

void blocking_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      log::error(std::string{"background job failed: "} + e.what());
    } catch (...) {
      log::error("background job failed");
    }
  }
}

} // namespace hookwerk::engine
