#include <utility>

#include "kube/client.h"

namespace kube {

const char* WatchEventTypeName(WatchEvent::Type t) {
  switch (t) {
    case WatchEvent::Type::kAdded: return "ADDED";
    case WatchEvent::Type::kModified: return "MODIFIED";
    case WatchEvent::Type::kDeleted: return "DELETED";
    case WatchEvent::Type::kBookmark: return "BOOKMARK";
    case WatchEvent::Type::kError: return "ERROR";
  }
  return "UNKNOWN";
}

void WatchCancel::Cancel() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  if (closer_) closer_();
}

void WatchCancel::SetCloser(std::function<void()> closer) {
  std::lock_guard<std::mutex> lock(mu_);
  closer_ = std::move(closer);
}

void WatchCancel::ClearCloser() {
  std::lock_guard<std::mutex> lock(mu_);
  closer_ = nullptr;
}

uint64_t ReconnectSignal::Subscribe(Callback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(callback));
  return id;
}

void ReconnectSignal::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.erase(id);
}

void ReconnectSignal::TransportFailed() {
  std::lock_guard<std::mutex> lock(mu_);
  unreachable_ = true;
}

void ReconnectSignal::Answered() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unreachable_) return;
  unreachable_ = false;
  reconnects_++;
  for (auto& [id, callback] : subscribers_) callback();
}

uint64_t ReconnectSignal::reconnects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reconnects_;
}

bool EventSplitter::Feed(std::string_view chunk,
                         const std::function<bool(std::string_view)>& on_line) {
  if (held_lines_) {
    // An earlier Feed stopped early: what it kept may hold whole lines.
    held_lines_ = false;
    std::string data = std::move(buf_);
    buf_.clear();
    data.append(chunk);
    return FeedFresh(data, on_line);
  }
  return FeedFresh(chunk, on_line);
}

bool EventSplitter::FeedFresh(std::string_view chunk,
                              const std::function<bool(std::string_view)>& on_line) {
  auto emit = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return true;
    return on_line(line);
  };
  size_t start = 0;
  while (start < chunk.size()) {
    size_t nl = chunk.find('\n', start);
    if (nl == std::string_view::npos) {
      buf_.append(chunk.substr(start));
      return true;
    }
    std::string_view piece = chunk.substr(start, nl - start);
    start = nl + 1;
    bool keep_going;
    if (buf_.empty()) {
      keep_going = emit(piece);
    } else {
      buf_.append(piece);
      std::string line = std::move(buf_);
      buf_.clear();
      keep_going = emit(line);
    }
    if (!keep_going) {
      // Keep what is left so a later Feed can continue where this one stopped.
      buf_.append(chunk.substr(start));
      held_lines_ = buf_.find('\n') != std::string::npos;
      return false;
    }
  }
  return true;
}

Result<WatchEvent> DecodeWatchEvent(std::string_view line) {
  json doc = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    std::string excerpt(line.substr(0, 200));
    return Status(Reason::kBadResponse, "watch event " + what + ": " + excerpt);
  };
  if (doc.is_discarded()) return bad("is not valid JSON");
  if (!doc.is_object()) return bad("is not a JSON object");
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string()) return bad("has no string \"type\"");
  auto object = doc.find("object");
  if (object == doc.end() || !object->is_object()) return bad("has no \"object\" object");
  const std::string& t = type->get_ref<const std::string&>();
  WatchEvent ev;
  if (t == "ADDED") {
    ev.type = WatchEvent::Type::kAdded;
  } else if (t == "MODIFIED") {
    ev.type = WatchEvent::Type::kModified;
  } else if (t == "DELETED") {
    ev.type = WatchEvent::Type::kDeleted;
  } else if (t == "BOOKMARK") {
    ev.type = WatchEvent::Type::kBookmark;
  } else if (t == "ERROR") {
    ev.type = WatchEvent::Type::kError;
  } else {
    return bad("has unknown type \"" + t + "\"");
  }
  ev.object = std::move(*object);
  return ev;
}

}  // namespace kube
