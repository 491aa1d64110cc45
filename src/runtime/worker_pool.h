#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace runtime {

// A fixed set of threads running submitted jobs in order of submission. The one pool
// type of the process: the hook calls and the member probes each get one, made by the
// wiring and passed to the parts that use them, so the number of threads a process runs
// is decided in one place (main), and a part that submits work does not own threads.
// A job must not throw. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(std::string name, int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a job; false (and the job is dropped) once Stop() has begun.
  bool Submit(std::function<void()> job);
  // Takes no more jobs, drops the queued ones, waits for the running ones to end. Idempotent.
  void Stop();

  const std::string& name() const { return name_; }
  size_t threads() const { return threads_.size(); }
  size_t queued() const;

 private:
  void Work();

  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The jobs one owner submitted to a pool it does not own: a job still queued when its owner
// stops must not touch the owner. Wrap(fn) gives a job that runs fn only while the scope
// is open; Close() makes the jobs not yet started no-ops and waits for the ones running.
// The owner closes its scope in its Stop() (and destructor) before its members go.
class TaskScope {
 public:
  TaskScope();
  ~TaskScope();
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;

  std::function<void()> Wrap(std::function<void()> fn);
  void Close();  // idempotent; must not be called from inside a wrapped job
  bool closed() const;

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool closed = false;
    int running = 0;
  };
  std::shared_ptr<State> state_;
};

}  // namespace runtime
