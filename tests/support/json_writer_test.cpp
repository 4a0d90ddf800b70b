#include "actors/support/json_writer.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using namespace hookwerk::support;

namespace {

std::string json_literal(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// Parses `json` (a string literal) with the validating DOM parser and returns the string it holds.
std::optional<std::string> parse_string(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(json.data(), json.size()).get(element) != simdjson::SUCCESS)
    return std::nullopt;
  std::string_view s;
  if (element.get_string().get(s) != simdjson::SUCCESS)
    return std::nullopt;
  return std::string(s);
}

bool parses(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(json.data(), json.size()).get(element) == simdjson::SUCCESS;
}

} // namespace

TEST(append_json_string, copies_plain_text) {
  EXPECT_EQ(json_literal(""), R"("")");
  EXPECT_EQ(json_literal("hello world / 123 ~"), R"("hello world / 123 ~")");
}

TEST(append_json_string, appends_to_existing_text) {
  std::string out = "x=";
  append_json_string(out, "a");
  EXPECT_EQ(out, R"(x="a")");
}

TEST(append_json_string, escapes_quote_and_backslash) {
  EXPECT_EQ(json_literal(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(json_literal(R"(C:\dir\)"), R"("C:\\dir\\")");
}

TEST(append_json_string, escapes_control_characters) {
  EXPECT_EQ(json_literal("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(json_literal(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(json_literal("\x01\x1f\x0b"), R"("\u0001\u001f\u000b")");
  EXPECT_EQ(json_literal("\x7f"), "\"\x7f\"");
}

TEST(append_json_string, escapes_every_control_character_and_round_trips) {
  for (int c = 0; c < 0x20; ++c) {
    std::string text(1, static_cast<char>(c));
    auto out = json_literal(text);
    for (char o : out)
      EXPECT_GE(static_cast<unsigned char>(o), 0x20u) << c;
    EXPECT_EQ(parse_string(out), text) << c;
  }
}

TEST(append_json_string, copies_valid_multibyte_utf8) {
  const std::string text = "\xc3\xa4\xc3\xb6\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf "
                           "\xf4\x8f\xbf\xbf \xc2\x80 \xe0\xa0\x80 \xf0\x90\x80\x80";
  EXPECT_EQ(json_literal(text), "\"" + text + "\"");
}

TEST(append_json_string, escapes_line_and_paragraph_separators) {
  EXPECT_EQ(json_literal("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"), R"("a\u2028b\u2029c")");
  // Neighbours of U+2028/U+2029 are copied.
  EXPECT_EQ(json_literal("\xe2\x80\xa7\xe2\x80\xaa"), "\"\xe2\x80\xa7\xe2\x80\xaa\"");
  EXPECT_EQ(parse_string(json_literal("\xe2\x80\xa8\xe2\x80\xa9")), "\xe2\x80\xa8\xe2\x80\xa9");
}

TEST(append_json_string, replaces_invalid_utf8) {
  const std::string fffd = "\xef\xbf\xbd";
  // Lone continuation byte, invalid lead bytes.
  EXPECT_EQ(json_literal("a\x80z"), "\"a" + fffd + "z\"");
  EXPECT_EQ(json_literal("\xc0\xaf"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(json_literal("\xc1\xbf"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(json_literal("\xf5\x80\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json_literal("\xff"), "\"" + fffd + "\"");
  // Overlong three- and four-byte forms.
  EXPECT_EQ(json_literal("\xe0\x80\xaf"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json_literal("\xf0\x80\x80\xaf"), "\"" + fffd + fffd + fffd + fffd + "\"");
  // Surrogate U+D800 and code point above U+10FFFF.
  EXPECT_EQ(json_literal("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json_literal("\xf4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
  // Truncated sequences: one replacement for the maximal subpart.
  EXPECT_EQ(json_literal("\xe2\x82"), "\"" + fffd + "\"");
  EXPECT_EQ(json_literal("\xe2\x82z"), "\"" + fffd + "z\"");
  EXPECT_EQ(json_literal("\xf0\x9f\x98"), "\"" + fffd + "\"");
  EXPECT_EQ(json_literal("\xf0\x9f\x98\""), "\"" + fffd + "\\\"\"");
  EXPECT_EQ(json_literal("\xc3"), "\"" + fffd + "\"");
  EXPECT_EQ(json_literal("\xc3\n"), "\"" + fffd + "\\n\"");
}

TEST(append_json_string, round_trips_through_simdjson) {
  const std::string samples[] = {
    "",
    "plain",
    R"(quote " backslash \ slash /)",
    std::string("nul \0 inside", 12),
    "tab\tnewline\ncr\rbell\x07 esc\x1b",
    "\xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8 \xe2\x80\xa9",
    "</script><!--",
  };
  for (const auto& s : samples) {
    auto out = json_literal(s);
    EXPECT_EQ(parse_string(out), s) << out;
  }
}

TEST(append_json_string, random_bytes_always_give_valid_json) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  int valid_inputs = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    int n = length(rng);
    for (int i = 0; i < n; ++i) {
      // Bias towards interesting bytes.
      int b = byte(rng);
      if (round % 3 == 0)
        b = b < 128 ? b : 0x80 + (b & 0x3f) + ((b & 1) ? 0x40 : 0);
      text += static_cast<char>(b);
    }
    auto out = json_literal(text);
    ASSERT_TRUE(simdjson::validate_utf8(out.data(), out.size())) << round;
    auto back = parse_string(out);
    ASSERT_TRUE(back.has_value()) << round;
    if (simdjson::validate_utf8(text.data(), text.size())) {
      ++valid_inputs;
      EXPECT_EQ(*back, text) << round;
    }
  }
  EXPECT_GT(valid_inputs, 100);
}

TEST(json_writer, writes_empty_containers) {
  json_writer w;
  w.begin_object();
  w.end_object();
  EXPECT_EQ(w.str(), "{}");
  json_writer a;
  a.begin_array();
  a.end_array();
  EXPECT_EQ(a.str(), "[]");
}

TEST(json_writer, inserts_commas_and_colons) {
  json_writer w;
  w.begin_object();
  w.key("id");
  w.value(17);
  w.key("app");
  w.value("zapier");
  w.key("active");
  w.value(true);
  w.key("deactivated_at");
  w.null();
  w.key("tags");
  w.begin_array();
  w.value("a");
  w.value(std::string("b"));
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.null();
  w.end_array();
  w.key("nested");
  w.begin_object();
  w.key("x");
  w.value(false);
  w.key("y");
  w.begin_object();
  w.key("z");
  w.value(std::string_view("q"));
  w.end_object();
  w.end_object();
  w.key("payload");
  w.raw(R"({"k":[1,2]})");
  w.end_object();
  EXPECT_EQ(w.str(), R"({"id":17,"app":"zapier","active":true,"deactivated_at":null,)"
                     R"("tags":["a","b",{},[],null],"nested":{"x":false,"y":{"z":"q"}},)"
                     R"("payload":{"k":[1,2]}})");
  EXPECT_TRUE(parses(w.str()));
}

TEST(json_writer, writes_top_level_array_of_objects) {
  json_writer w;
  w.begin_array();
  for (int i = 1; i <= 3; ++i) {
    w.begin_object();
    w.member("id", i);
    w.member("name", "n");
    w.end_object();
  }
  w.end_array();
  EXPECT_EQ(w.str(), R"([{"id":1,"name":"n"},{"id":2,"name":"n"},{"id":3,"name":"n"}])");
}

TEST(json_writer, writes_integer_limits) {
  json_writer w;
  w.begin_array();
  w.value(std::numeric_limits<int64_t>::min());
  w.value(std::numeric_limits<int64_t>::max());
  w.value(std::numeric_limits<uint64_t>::max());
  w.value(0);
  w.value(-1);
  w.value(uint64_t{42});
  w.value(static_cast<unsigned short>(7));
  w.value(3u);
  w.value(5LL);
  w.end_array();
  EXPECT_EQ(w.str(), "[-9223372036854775808,9223372036854775807,18446744073709551615,0,-1,42,7,"
                     "3,5]");
  EXPECT_TRUE(parses(w.str()));
}

TEST(json_writer, bool_and_string_overloads_do_not_mix) {
  json_writer w;
  w.begin_array();
  w.value("true");
  w.value(true);
  const char* none = nullptr;
  w.value(none);
  w.end_array();
  EXPECT_EQ(w.str(), R"(["true",true,""])");
}

TEST(json_writer, escapes_keys_and_values) {
  json_writer w;
  w.begin_object();
  w.key("a\"b");
  w.value("line\nbreak\xff");
  w.end_object();
  EXPECT_EQ(w.str(), "{\"a\\\"b\":\"line\\nbreak\xef\xbf\xbd\"}");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(w.str()).get(doc), simdjson::SUCCESS);
  std::string_view v;
  ASSERT_EQ(doc["a\"b"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "line\nbreak\xef\xbf\xbd");
}

TEST(json_writer, take_moves_text_out_and_resets) {
  json_writer w;
  w.begin_array();
  w.value(1);
  w.end_array();
  EXPECT_EQ(w.take(), "[1]");
  EXPECT_EQ(w.str(), "");
  w.begin_array();
  w.value(2);
  w.end_array();
  EXPECT_EQ(w.take(), "[2]");
}

TEST(json_writer, single_scalar_document) {
  json_writer w;
  w.value("x");
  EXPECT_EQ(w.str(), R"("x")");
}
