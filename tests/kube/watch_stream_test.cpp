#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kube/client.h"

namespace kube {
namespace {

std::vector<std::string> SplitAt(const std::string& stream, const std::vector<size_t>& cuts) {
  EventSplitter splitter;
  std::vector<std::string> lines;
  size_t prev = 0;
  auto collect = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  for (size_t cut : cuts) {
    EXPECT_TRUE(splitter.Feed(std::string_view(stream).substr(prev, cut - prev), collect));
    prev = cut;
  }
  EXPECT_TRUE(splitter.Feed(std::string_view(stream).substr(prev), collect));
  EXPECT_EQ(splitter.pending(), 0u);
  return lines;
}

const std::vector<std::string> kEvents = {
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"héllo wörld ✓ 日本"}}})",
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"2"}}})",
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"3"}}})",
    R"({"type":"DELETED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"4"}}})",
};

std::string Stream() {
  std::string s;
  for (const auto& e : kEvents) s += e + "\n";
  return s;
}

TEST(EventSplitterTest, EverySingleSplitPoint) {
  const std::string stream = Stream();
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(SplitAt(stream, {cut}), kEvents) << "cut at " << cut;
  }
}

TEST(EventSplitterTest, EveryPairOfSplitPoints) {
  const std::string stream = Stream();
  for (size_t a = 0; a <= stream.size(); a += 3) {
    for (size_t b = a; b <= stream.size(); b += 5) {
      ASSERT_EQ(SplitAt(stream, {a, b}), kEvents) << "cuts at " << a << "," << b;
    }
  }
}

TEST(EventSplitterTest, OneByteChunksSplitUtf8AndLines) {
  const std::string stream = Stream();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  auto lines = SplitAt(stream, cuts);
  EXPECT_EQ(lines, kEvents);
  // The multi-byte characters come out whole and the event still decodes.
  auto ev = DecodeWatchEvent(lines[0]);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->object["data"]["k"], "héllo wörld ✓ 日本");
}

TEST(EventSplitterTest, ManyEventsInOneChunkAndBlankLinesAndCrlf) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += "{\"n\":" + std::to_string(i) + "}\r\n\n";
  EventSplitter splitter;
  int count = 0;
  ASSERT_TRUE(splitter.Feed(stream, [&](std::string_view line) {
    EXPECT_EQ(line, "{\"n\":" + std::to_string(count) + "}");
    ++count;
    return true;
  }));
  EXPECT_EQ(count, 1000);
}

TEST(EventSplitterTest, OneEventOverManyChunks) {
  std::string big = R"({"type":"ADDED","object":{"data":")" + std::string(1 << 20, 'x') + "\"}}\n";
  EventSplitter splitter;
  int lines = 0;
  for (size_t i = 0; i < big.size(); i += 16384) {
    ASSERT_TRUE(splitter.Feed(std::string_view(big).substr(i, 16384), [&](std::string_view line) {
      ++lines;
      EXPECT_EQ(line.size(), big.size() - 1);
      return true;
    }));
    if (i + 16384 < big.size()) {
      EXPECT_EQ(splitter.pending(), i + 16384);
    }
  }
  EXPECT_EQ(lines, 1);
  EXPECT_EQ(splitter.pending(), 0u);
}

TEST(EventSplitterTest, StopsWhenTheCallbackSaysSoAndKeepsTheRest) {
  EventSplitter splitter;
  std::vector<std::string> seen;
  EXPECT_FALSE(splitter.Feed("a\nb\nc", [&](std::string_view l) {
    seen.emplace_back(l);
    return false;
  }));
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
  EXPECT_TRUE(splitter.Feed("\n", [&](std::string_view l) {
    seen.emplace_back(l);
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(DecodeWatchEventTest, AllTypes) {
  const std::pair<const char*, WatchEvent::Type> cases[] = {
      {"ADDED", WatchEvent::Type::kAdded},       {"MODIFIED", WatchEvent::Type::kModified},
      {"DELETED", WatchEvent::Type::kDeleted},   {"BOOKMARK", WatchEvent::Type::kBookmark},
      {"ERROR", WatchEvent::Type::kError},
  };
  for (const auto& [name, type] : cases) {
    auto ev = DecodeWatchEvent(std::string(R"({"type":")") + name + R"(","object":{"a":1}})");
    ASSERT_TRUE(ev.ok()) << name;
    EXPECT_EQ(ev->type, type);
    EXPECT_EQ(ev->object["a"], 1);
    EXPECT_STREQ(WatchEventTypeName(type), name);
  }
}

TEST(DecodeWatchEventTest, ErrorsNameWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"type\":\"ADDED\",", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"object":{}})", "\"type\""},
      {R"({"type":5,"object":{}})", "\"type\""},
      {R"({"type":"ADDED"})", "\"object\""},
      {R"({"type":"ADDED","object":"x"})", "\"object\""},
      {R"({"type":"RENAMED","object":{}})", "unknown type \"RENAMED\""},
  };
  for (const auto& [line, want] : cases) {
    auto ev = DecodeWatchEvent(line);
    ASSERT_FALSE(ev.ok()) << line;
    EXPECT_EQ(ev.status().reason(), Reason::kBadResponse);
    EXPECT_NE(ev.status().message().find(want), std::string::npos)
        << line << " -> " << ev.status().message();
  }
}

TEST(WatchCancelTest, CallsTheCloserOnce) {
  WatchCancel cancel;
  int closed = 0;
  cancel.SetCloser([&] { ++closed; });
  EXPECT_FALSE(cancel.cancelled());
  cancel.Cancel();
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(closed, 1);
  cancel.ClearCloser();
  cancel.Cancel();
  EXPECT_EQ(closed, 1);
}

}  // namespace
}  // namespace kube
