#include "actors/support/ingest_parser.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace hookwerk::support;

namespace {

constexpr std::string_view json_type = "application/json";
constexpr std::string_view ndjson_type = "application/x-ndjson";

std::string event_json(std::string_view payload, std::string_view extra = "") {
  std::string out = R"({"account":"acme","event":"optin_finalized","payload":)";
  out.append(payload);
  out.append(extra);
  out.push_back('}');
  return out;
}

ingest_parse_result parse_json(std::string_view body) {
  ingest_parser parser;
  return parser.parse(json_type, body);
}

ingest_parse_result parse_ndjson(std::string_view body) {
  ingest_parser parser;
  return parser.parse(ndjson_type, body);
}

// The single item of a successful single-object parse.
ingest_item single(std::string_view body) {
  auto result = parse_json(body);
  EXPECT_EQ(result.error, "") << body;
  EXPECT_FALSE(result.batch);
  if (result.items.size() != 1) {
    ADD_FAILURE() << "expected one item for " << body;
    return {};
  }
  return result.items.front();
}

std::string error_of(std::string_view body, std::string_view content_type = json_type) {
  ingest_parser parser;
  auto result = parser.parse(content_type, body);
  EXPECT_TRUE(result.items.empty()) << body;
  return result.error;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

} // namespace

// --- forms ---------------------------------------------------------------------------------------

TEST(ingest_parser, single_object_gives_one_item) {
  auto item = single(R"({"account":"acme","event":"optin_finalized","payload":{"subscriber_id":7,"email":"a@b.c"},"id":"abc"})");
  EXPECT_EQ(item.account, "acme");
  EXPECT_EQ(item.event, "optin_finalized");
  EXPECT_EQ(item.payload, R"({"subscriber_id":7,"email":"a@b.c"})");
  EXPECT_EQ(item.id, "abc");
  EXPECT_EQ(item.key, "7");
}

TEST(ingest_parser, optional_fields_may_be_absent) {
  auto item = single(event_json("{}"));
  EXPECT_EQ(item.payload, "{}");
  EXPECT_FALSE(item.id.has_value());
  EXPECT_FALSE(item.key.has_value());
}

TEST(ingest_parser, array_of_fifty_objects_is_a_batch) {
  std::string body = "[";
  for (int i = 0; i < 50; ++i) {
    if (i > 0)
      body += i % 2 ? ",\n  " : ",";
    body += R"({"account":"acme","event":"e)" + std::to_string(i) + R"(","payload":{"subscriber_id":)"
            + std::to_string(i) + R"(, "list":[ ] },"id":"id-)" + std::to_string(i) + "\"}";
  }
  body += "]";
  auto result = parse_json(body);
  ASSERT_EQ(result.error, "");
  EXPECT_TRUE(result.batch);
  ASSERT_EQ(result.items.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    const auto& item = result.items[i];
    EXPECT_EQ(item.account, "acme");
    EXPECT_EQ(item.event, "e" + std::to_string(i));
    EXPECT_EQ(item.payload, R"({"subscriber_id":)" + std::to_string(i) + R"(, "list":[ ] })");
    EXPECT_EQ(item.id, "id-" + std::to_string(i));
    EXPECT_EQ(item.key, std::to_string(i));
  }
}

TEST(ingest_parser, array_with_one_object_is_still_a_batch) {
  auto result = parse_json("[" + event_json("{}") + "]");
  ASSERT_EQ(result.error, "");
  EXPECT_TRUE(result.batch);
  EXPECT_EQ(result.items.size(), 1u);
}

TEST(ingest_parser, empty_array_is_an_error) {
  EXPECT_EQ(error_of("[]"), "empty batch");
  EXPECT_EQ(error_of(" [ \n ] "), "empty batch");
}

TEST(ingest_parser, ndjson_with_fifty_lines_is_a_batch) {
  std::string body;
  for (int i = 0; i < 50; ++i)
    body += R"({"account":"acme","event":"e","payload":{"n":)" + std::to_string(i) + R"(},"key":)"
            + std::to_string(i) + "}\n";
  auto result = parse_ndjson(body);
  ASSERT_EQ(result.error, "");
  EXPECT_TRUE(result.batch);
  ASSERT_EQ(result.items.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(result.items[i].payload, R"({"n":)" + std::to_string(i) + "}");
    EXPECT_EQ(result.items[i].key, std::to_string(i));
  }
}

TEST(ingest_parser, ndjson_single_line_is_a_batch) {
  auto result = parse_ndjson(event_json(R"({"a":1})"));
  ASSERT_EQ(result.error, "");
  EXPECT_TRUE(result.batch);
  ASSERT_EQ(result.items.size(), 1u);
  EXPECT_EQ(result.items[0].payload, R"({"a":1})");
}

TEST(ingest_parser, ndjson_crlf_blank_lines_and_trailing_newline) {
  std::string body = "\r\n" + event_json(R"({ "a" : 1 })") + "\r\n\r\n   \t\r\n" + event_json("{}")
                     + "  \r\n" + event_json(R"({"b":[2]})") + "\r\n";
  auto result = parse_ndjson(body);
  ASSERT_EQ(result.error, "");
  ASSERT_EQ(result.items.size(), 3u);
  EXPECT_EQ(result.items[0].payload, R"({ "a" : 1 })");
  EXPECT_EQ(result.items[1].payload, "{}");
  EXPECT_EQ(result.items[2].payload, R"({"b":[2]})");

  auto lf = parse_ndjson(event_json("{}") + "\n" + event_json("{}") + "\n");
  ASSERT_EQ(lf.error, "");
  EXPECT_EQ(lf.items.size(), 2u);

  auto no_final_newline = parse_ndjson(event_json("{}") + "\n" + event_json(R"({"z":0})"));
  ASSERT_EQ(no_final_newline.error, "");
  ASSERT_EQ(no_final_newline.items.size(), 2u);
  EXPECT_EQ(no_final_newline.items[1].payload, R"({"z":0})");
}

TEST(ingest_parser, ndjson_without_lines_is_an_empty_batch) {
  EXPECT_EQ(error_of("", ndjson_type), "empty batch");
  EXPECT_EQ(error_of("\n\r\n  \n", ndjson_type), "empty batch");
}

TEST(ingest_parser, ndjson_lines_must_hold_one_object_each) {
  EXPECT_EQ(error_of(event_json("{}") + "\n[" + event_json("{}") + "]\n", ndjson_type),
            "line 2: expected a JSON object");
  // An object spread over two lines is two malformed lines.
  std::string split = R"({"account":"acme","event":"e",)" "\n" R"("payload":{}})";
  EXPECT_TRUE(starts_with(error_of(split, ndjson_type), "line 1: malformed JSON: "));
  // Two objects on one line.
  EXPECT_TRUE(starts_with(error_of(event_json("{}") + " " + event_json("{}"), ndjson_type),
                          "line 1: malformed JSON: "));
}

TEST(ingest_parser, ndjson_content_type_selects_the_form) {
  std::string line = event_json("{}");
  ingest_parser parser;
  for (std::string_view type : {"application/x-ndjson", "Application/X-NDJSON",
                                "application/x-ndjson; charset=utf-8", " application/x-ndjson ;x=y"}) {
    auto result = parser.parse(type, line + "\n" + line);
    EXPECT_EQ(result.error, "") << type;
    EXPECT_EQ(result.items.size(), 2u) << type;
  }
  // Anything else is JSON: two objects in one body are then malformed, one object is not a batch.
  for (std::string_view type : {"application/json", "", "text/plain", "application/x-ndjsonx",
                                "application/json; x=application/x-ndjson"}) {
    EXPECT_TRUE(starts_with(parser.parse(type, line + "\n" + line).error, "malformed JSON: ")) << type;
    auto result = parser.parse(type, line);
    EXPECT_EQ(result.error, "") << type;
    EXPECT_FALSE(result.batch) << type;
  }
}

TEST(ingest_content_type, matches_the_media_type_only) {
  EXPECT_TRUE(is_ndjson_content_type("application/x-ndjson"));
  EXPECT_TRUE(is_ndjson_content_type("APPLICATION/x-NdJson"));
  EXPECT_TRUE(is_ndjson_content_type("application/x-ndjson;charset=utf-8"));
  EXPECT_TRUE(is_ndjson_content_type("\tapplication/x-ndjson ; charset=utf-8"));
  EXPECT_FALSE(is_ndjson_content_type(""));
  EXPECT_FALSE(is_ndjson_content_type("application/json"));
  EXPECT_FALSE(is_ndjson_content_type("application/x-ndjson2"));
  EXPECT_FALSE(is_ndjson_content_type("application/ndjson"));
  EXPECT_FALSE(is_ndjson_content_type("text/x-ndjson"));
}

// --- payload bytes -------------------------------------------------------------------------------

TEST(ingest_parser, payload_is_extracted_byte_for_byte) {
  const std::string payload = "{ \"a\" :\t[1, 2 ,\n[3,[4, [ ] ]] ] ,\"b\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9\"\r\n"
                              " , \"c\": 12345678901234567890, \"d\":-1.50E+10,\"e\":{ },\"f\":null , "
                              "\"g\":\"}]\\\"\\\\\",\"h\":[true,false]}";
  std::string body = "  {\"account\" : \"acme\",\n \"payload\"  :  " + payload
                     + "  \n,\"event\":\"e\"}\n  ";
  auto item = single(body);
  EXPECT_EQ(item.payload, payload);
}

TEST(ingest_parser, payload_may_come_anywhere_among_the_members) {
  EXPECT_EQ(single(R"({"payload":{"x":[1]},"account":"a","event":"e"})").payload, R"({"x":[1]})");
  EXPECT_EQ(single(R"({"account":"a","payload":{"x":"]"},"event":"e"})").payload, R"({"x":"]"})");
}

TEST(ingest_parser, strings_before_the_payload_do_not_confuse_extraction) {
  std::string body = R"({"note":"} \" ] { \\","account":"a","meta":{"payload":{"no":1}},)"
                     R"("other":["payload",{"payload":2}],"event":"e","payload":{"yes":"\\"}})";
  EXPECT_EQ(single(body).payload, R"({"yes":"\\"})");
}

TEST(ingest_parser, member_names_are_compared_unescaped) {
  auto item = single(R"({"\u0061ccount":"\u0061cme","event":"e\/f","p\u0061yload":{"k":"\u0041"},"i\u0064":"x"})");
  EXPECT_EQ(item.account, "acme");
  EXPECT_EQ(item.event, "e/f");
  EXPECT_EQ(item.payload, R"({"k":"\u0041"})");
  EXPECT_EQ(item.id, "x");
}

TEST(ingest_parser, numbers_beyond_64_bits_are_valid_and_kept_as_text) {
  std::string payload = R"({"big":123456789012345678901234567890,"neg":-98765432109876543210987,)"
                        R"("huge":1e400,"tiny":-2.5E-400,"long":3.14159265358979323846264338327950288})";
  auto item = single(event_json(payload, R"(,"key":123456789012345678901234567890)"));
  EXPECT_EQ(item.payload, payload);
  EXPECT_EQ(item.key, "123456789012345678901234567890");
  // Still validated: a malformed number beside a big one is rejected.
  EXPECT_TRUE(starts_with(error_of(event_json(R"({"big":123456789012345678901234567890,"a":01})")),
                          "malformed JSON: "));
  EXPECT_TRUE(starts_with(error_of(event_json(R"({"big":1e400,"a":tru})")), "malformed JSON: "));
  EXPECT_TRUE(starts_with(error_of(event_json(R"({"big":1e400,"a":1.})")), "malformed JSON: "));
  EXPECT_TRUE(starts_with(error_of(event_json(R"({"big":1e400,"a":"\x"})")), "malformed JSON: "));
}

TEST(ingest_parser, large_payload_of_200_kib) {
  std::string payload = "{\"items\":[";
  for (int i = 0; payload.size() < 200 * 1024; ++i) {
    if (i > 0)
      payload += ", ";
    payload += "{\"n\":" + std::to_string(i) + ",\"s\":\"text with \\\"quotes\\\" and \\u00e9 "
               + std::string(i % 40, 'x') + "\",\"f\":" + std::to_string(i) + ".25e-3}";
  }
  payload += "],\"subscriber_id\":\"s-1\"}";
  ASSERT_GE(payload.size(), 200u * 1024);
  ingest_parser parser;
  auto result = parser.parse(json_type, event_json(payload));
  ASSERT_EQ(result.error, "");
  ASSERT_EQ(result.items.size(), 1u);
  EXPECT_EQ(result.items[0].payload, payload);
  EXPECT_EQ(result.items[0].key, "s-1");
  // The same parser then handles a small body correctly.
  auto small = parser.parse(json_type, event_json(R"({"x":1})"));
  ASSERT_EQ(small.error, "");
  EXPECT_EQ(small.items[0].payload, R"({"x":1})");
  EXPECT_FALSE(small.items[0].key.has_value());
}

TEST(ingest_parser, random_payloads_round_trip_exactly) {
  std::mt19937 rng(20240601);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto space = [&] {
    static constexpr std::string_view spaces[] = {"", "", "", " ", "\n", "\t", "\r\n", "  \t "};
    return std::string(spaces[pick(8)]);
  };
  auto string_literal = [&] {
    static constexpr std::string_view parts[] = {
        "a", "xyz", "\\\"", "\\\\", "\\/", "\\n", "\\u00e9", "\\ud83d\\ude00", "\xc3\xa9",
        "\xf0\x9f\x98\x80", "{", "}", "[", "]", ",", ":", " ", "payload"};
    std::string s = "\"";
    for (int n = pick(6); n > 0; --n)
      s += parts[pick(18)];
    return s + "\"";
  };
  auto number = [&] {
    static constexpr std::string_view numbers[] = {"0", "-0", "42", "-7", "3.25", "1e5", "-2.5E-3",
                                                   "12345678901234567890", "1E+2",
                                                   "123456789012345678901234567890", "0.000001"};
    return std::string(numbers[pick(11)]);
  };
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    int kind = pick(depth > 4 ? 5 : 7);
    switch (kind) {
      case 0: return string_literal();
      case 1: return number();
      case 2: return "true";
      case 3: return "false";
      case 4: return "null";
      case 5: {
        std::string s = "[" + space();
        for (int n = pick(4); n > 0; --n)
          s += value(depth + 1) + space() + (n > 1 ? "," + space() : "");
        return s + "]";
      }
      default: {
        std::string s = "{" + space();
        for (int n = pick(4); n > 0; --n)
          s += string_literal() + space() + ":" + space() + value(depth + 1) + space()
               + (n > 1 ? "," + space() : "");
        return s + "}";
      }
    }
  };
  ingest_parser parser;
  for (int round = 0; round < 2000; ++round) {
    std::string payload = "{" + space();
    for (int n = pick(5); n > 0; --n)
      payload += string_literal() + space() + ":" + space() + value(1) + space() + (n > 1 ? "," + space() : "");
    payload += "}";
    std::string before = pick(2) ? "" : R"("x":)" + value(1) + ",";
    std::string body = "{" + space() + before + R"("account":"a","event":"e",)" + space() + "\"payload\""
                       + space() + ":" + space() + payload + space() + "," + R"("y":)" + value(1) + "}";
    auto result = parser.parse(json_type, body);
    ASSERT_EQ(result.error, "") << body;
    ASSERT_EQ(result.items.size(), 1u);
    ASSERT_EQ(result.items[0].payload, payload) << body;
  }
}

// --- fields --------------------------------------------------------------------------------------

TEST(ingest_parser, missing_fields_are_named) {
  EXPECT_EQ(error_of(R"({"event":"e","payload":{}})"), R"(missing field "account")");
  EXPECT_EQ(error_of(R"({"account":"a","payload":{}})"), R"(missing field "event")");
  EXPECT_EQ(error_of(R"({"account":"a","event":"e"})"), R"(missing field "payload")");
  EXPECT_EQ(error_of("{}"), R"(missing field "account")");
}

TEST(ingest_parser, account_and_event_must_be_non_empty_strings) {
  EXPECT_EQ(error_of(R"({"account":1,"event":"e","payload":{}})"), "account must be a string");
  EXPECT_EQ(error_of(R"({"account":null,"event":"e","payload":{}})"), "account must be a string");
  EXPECT_EQ(error_of(R"({"account":"","event":"e","payload":{}})"), "account must not be empty");
  EXPECT_EQ(error_of(R"({"account":"a","event":["e"],"payload":{}})"), "event must be a string");
  EXPECT_EQ(error_of(R"({"account":"a","event":"","payload":{}})"), "event must not be empty");
}

TEST(ingest_parser, payload_must_be_an_object) {
  for (std::string_view payload : {"[]", "[{}]", "\"{}\"", "1", "null", "true"})
    EXPECT_EQ(error_of(event_json(payload)), "payload must be a JSON object") << payload;
}

TEST(ingest_parser, unknown_fields_are_ignored) {
  auto item = single(event_json("{}", R"(,"extra":{"account":"b","payload":[]},"more":[1,2,3],"n":null)"));
  EXPECT_EQ(item.account, "acme");
  EXPECT_EQ(item.payload, "{}");
}

TEST(ingest_parser, id_rules) {
  EXPECT_EQ(single(event_json("{}", R"(,"id":"k-1")")).id, "k-1");
  EXPECT_EQ(single(event_json("{}", R"(,"id":42)")).id, "42");
  EXPECT_EQ(single(event_json("{}", R"(,"id":-1.50)")).id, "-1.50");
  EXPECT_EQ(single(event_json("{}", R"(,"id":"\u00e9")")).id, "\xc3\xa9");
  EXPECT_FALSE(single(event_json("{}", R"(,"id":null)")).id.has_value());
  EXPECT_EQ(single(event_json("{}", ",\"id\":\"" + std::string(255, 'x') + "\"")).id,
            std::string(255, 'x'));
  EXPECT_EQ(error_of(event_json("{}", ",\"id\":\"" + std::string(256, 'x') + "\"")),
            "id must be at most 255 bytes");
  EXPECT_EQ(error_of(event_json("{}", ",\"id\":" + std::string(256, '7'))),
            "id must be at most 255 bytes");
  EXPECT_EQ(error_of(event_json("{}", R"(,"id":"")")), "id must not be empty");
  for (std::string_view bad : {"true", "{}", "[\"a\"]"})
    EXPECT_EQ(error_of(event_json("{}", std::string(",\"id\":") + std::string(bad))),
              "id must be a string or a number")
        << bad;
}

TEST(ingest_parser, key_rules) {
  EXPECT_EQ(single(event_json("{}", R"(,"key":"k")")).key, "k");
  EXPECT_EQ(single(event_json("{}", R"(,"key":"")")).key, "");
  EXPECT_EQ(single(event_json("{}", R"(,"key":1.0)")).key, "1.0");
  for (std::string_view bad : {"true", "false", "{}", "[1]"})
    EXPECT_EQ(error_of(event_json("{}", std::string(",\"key\":") + std::string(bad))),
              "key must be a string or a number")
        << bad;
}

TEST(ingest_parser, key_compares_as_text_for_strings_and_numbers) {
  auto from_number = single(event_json("{}", R"(,"key":42)")).key;
  auto from_string = single(event_json("{}", R"(,"key":"42")")).key;
  auto from_subscriber_number = single(event_json(R"({"subscriber_id":42})")).key;
  auto from_subscriber_string = single(event_json(R"({"subscriber_id":"42"})")).key;
  ASSERT_TRUE(from_number.has_value());
  EXPECT_EQ(*from_number, "42");
  EXPECT_EQ(from_number, from_string);
  EXPECT_EQ(from_number, from_subscriber_number);
  EXPECT_EQ(from_number, from_subscriber_string);
  EXPECT_EQ(single(event_json(R"({"subscriber_id":12345678901234567890})")).key,
            "12345678901234567890");
}

TEST(ingest_parser, key_takes_precedence_over_subscriber_id) {
  EXPECT_EQ(single(event_json(R"({"subscriber_id":7})", R"(,"key":"k")")).key, "k");
  EXPECT_EQ(single(event_json(R"({"subscriber_id":7})", R"(,"key":8)")).key, "8");
  // A null key counts as absent, so subscriber_id supplies it.
  EXPECT_EQ(single(event_json(R"({"subscriber_id":7})", R"(,"key":null)")).key, "7");
  EXPECT_FALSE(single(event_json("{}", R"(,"key":null)")).key.has_value());
}

TEST(ingest_parser, subscriber_id_of_other_types_gives_no_key) {
  for (std::string_view payload : {R"({"subscriber_id":null})", R"({"subscriber_id":true})",
                                   R"({"subscriber_id":{"id":1}})", R"({"subscriber_id":[1]})",
                                   R"({"nested":{"subscriber_id":1}})", R"({"Subscriber_id":1})"})
    EXPECT_FALSE(single(event_json(payload)).key.has_value()) << payload;
}

TEST(ingest_parser, subscriber_id_number_text_is_taken_from_its_position) {
  auto item = single(event_json(R"({ "a" : [1,{"subscriber_id":1}], "subscriber_id" :  -0.5e3 , "z":2})"));
  EXPECT_EQ(item.key, "-0.5e3");
}

TEST(ingest_parser, repeated_members_last_one_wins) {
  auto item = single(R"({"account":"first","event":"e","payload":{"n":1},"account":"second",)"
                     R"("payload":{"n":2},"id":"i1","id":"i2","key":1,"key":"k2"})");
  EXPECT_EQ(item.account, "second");
  EXPECT_EQ(item.payload, R"({"n":2})");
  EXPECT_EQ(item.id, "i2");
  EXPECT_EQ(item.key, "k2");
  EXPECT_EQ(single(event_json(R"({"subscriber_id":1,"subscriber_id":2})")).key, "2");
  EXPECT_EQ(error_of(R"({"account":"a","event":"e","payload":{},"payload":[]})"),
            "payload must be a JSON object");
}

// --- errors --------------------------------------------------------------------------------------

TEST(ingest_parser, malformed_json_is_rejected_by_a_full_parse) {
  const std::vector<std::string> bad = {
      R"({"account":"a","event":"e","payload":{"a": tru}})",
      R"({"account":"a","event":"e","payload":{"a":1,}})",
      R"({"account":"a","event":"e","payload":{"a":01}})",
      R"({"account":"a","event":"e","payload":{"a":1.2.3}})",
      R"({"account":"a","event":"e","payload":{"a":nul}})",
      R"({"account":"a","event":"e","payload":{"a":"\q"}})",
      R"({"account":"a","event":"e","payload":{"a":"\ud800"}})",
      "{\"account\":\"a\",\"event\":\"e\",\"payload\":{\"a\":\"\xff\xfe\"}}",
      "{\"account\":\"a\",\"event\":\"e\",\"payload\":{\"a\":\"\xc3\"}}",
      "{\"account\":\"a\",\"event\":\"e\",\"payload\":{\"a\":\"tab\there\"}}",
      R"({"account":"a","event":"e","payload":{"a":1}} x)",
      R"({"account":"a","event":"e","payload":{"a":1}}})",
      R"({"account":"a","event":"e","payload":{"a":1}} {})",
      R"({"account":"a","event":"e","payload":{"a":1})",
      R"({"account":"a","event":"e","payload":{"a":[1}})",
      R"({"account":"a" "event":"e","payload":{}})",
      R"([{"account":"a","event":"e","payload":{}},])",
      "\xef\xbb\xbf{\"account\":\"a\",\"event\":\"e\",\"payload\":{}}",
      "hello",
      "<event/>",
      "{",
      "'single'",
  };
  ingest_parser parser;
  for (const auto& body : bad) {
    auto result = parser.parse(json_type, body);
    EXPECT_TRUE(starts_with(result.error, "malformed JSON: ")) << body << " -> " << result.error;
    EXPECT_TRUE(result.items.empty()) << body;
  }
}

TEST(ingest_parser, bodies_that_are_not_objects) {
  EXPECT_EQ(error_of(""), "empty body");
  EXPECT_EQ(error_of(" \r\n\t"), "empty body");
  for (std::string_view body : {"42", "\"text\"", "null", "true", " 1.5 "})
    EXPECT_EQ(error_of(body), "expected a JSON object or an array of objects") << body;
}

TEST(ingest_parser, bad_item_fails_the_whole_batch_and_is_named) {
  std::string body = "[";
  for (int i = 1; i <= 5; ++i) {
    if (i > 1)
      body += ",";
    body += i == 3 ? R"({"account":"a","payload":{}})" : event_json("{}");
  }
  body += "]";
  EXPECT_EQ(error_of(body), R"(item 3: missing field "event")");
  EXPECT_EQ(error_of("[" + event_json("{}") + ", 5]"), "item 2: expected a JSON object");
  EXPECT_EQ(error_of("[" + event_json("{}") + ",[]]"), "item 2: expected a JSON object");
  EXPECT_EQ(error_of("[" + event_json("{}") + "," + event_json("[]") + "]"),
            "item 2: payload must be a JSON object");
}

TEST(ingest_parser, bad_line_fails_the_whole_batch_and_is_named) {
  std::string good = event_json("{}");
  EXPECT_EQ(error_of(good + "\n" + event_json("[1]") + "\n" + good, ndjson_type),
            "line 2: payload must be a JSON object");
  // Blank lines count: the bad object sits on physical line 4.
  EXPECT_EQ(error_of(good + "\r\n\r\n" + good + "\r\n" + R"({"event":"e","payload":{}})" + "\r\n",
                     ndjson_type),
            R"(line 4: missing field "account")");
  std::string malformed = error_of(good + "\n" + good + "\n" + R"({"account":"a","event":"e","payload":{"a":01}})",
                                   ndjson_type);
  EXPECT_TRUE(starts_with(malformed, "line 3: malformed JSON: ")) << malformed;
  EXPECT_EQ(error_of(good + "\n42\n", ndjson_type), "line 2: expected a JSON object");
}

TEST(ingest_parser, deep_nesting_is_a_clean_error) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string error = error_of(event_json(R"({"a":)" + deep + "}"));
  EXPECT_TRUE(starts_with(error, "malformed JSON: nested deeper than")) << error;
  std::string deep_objects;
  for (int i = 0; i < 5000; ++i)
    deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(5000, '}');
  EXPECT_TRUE(starts_with(error_of(event_json(deep_objects)), "malformed JSON: "));
  EXPECT_TRUE(starts_with(error_of(event_json(deep_objects), ndjson_type), "line 1: malformed JSON: "));
  // Nesting within the limit is fine (the event object and the payload take two levels).
  std::string ok = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_EQ(single(event_json(R"({"a":)" + ok + "}")).payload, R"({"a":)" + ok + "}");
}

TEST(ingest_parser, errors_leave_the_parser_usable) {
  ingest_parser parser;
  EXPECT_FALSE(parser.parse(json_type, "{").ok());
  EXPECT_FALSE(parser.parse(ndjson_type, "[").ok());
  auto result = parser.parse(json_type, event_json(R"({"a":1})"));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.items[0].payload, R"({"a":1})");
}

// --- buffers -------------------------------------------------------------------------------------

TEST(ingest_parser, parses_in_place_when_the_caller_provides_padding) {
  std::string body = event_json(R"({"in":"place"})");
  std::string padded = body;
  padded.reserve(padded.size() + ingest_parser::padding);
  ingest_parser parser;
  auto in_place = parser.parse(json_type, padded, padded.capacity());
  ASSERT_TRUE(in_place.ok()) << in_place.error;
  EXPECT_EQ(in_place.items[0].payload, R"({"in":"place"})");
  // Too little room: copied instead, same result.
  auto copied = parser.parse(json_type, body, body.size() + 1);
  ASSERT_TRUE(copied.ok()) << copied.error;
  EXPECT_EQ(copied.items[0].payload, R"({"in":"place"})");
  // NDJSON in place.
  std::string lines = body + "\n" + body + "\n";
  lines.reserve(lines.size() + ingest_parser::padding);
  auto batch = parser.parse(ndjson_type, lines, lines.capacity());
  ASSERT_TRUE(batch.ok()) << batch.error;
  EXPECT_EQ(batch.items.size(), 2u);
}

TEST(ingest_parser, a_view_into_a_larger_text_stops_at_its_end) {
  std::string text = event_json("{}") + "garbage that is not part of the body";
  std::string_view body(text.data(), event_json("{}").size());
  ingest_parser parser;
  auto result = parser.parse(json_type, body, text.capacity());
  EXPECT_TRUE(result.ok()) << result.error;
}

// --- speed ---------------------------------------------------------------------------------------

TEST(ingest_parser, throughput_report) {
  const std::string one = R"({"account":"acme","event":"optin_finalized","id":"3f2a9c1e-77b1-4d0e-9a52-0c6f1e8b2d44",)"
                          R"("payload":{"subscriber_id":123456,"email":"someone@example.com","list_id":42,)"
                          R"("fields":{"firstname":"Erika","lastname":"Mustermann"},"optin_at":"2024-06-01T12:00:00Z"}})";
  std::string array = "[";
  std::string lines;
  for (int i = 0; i < 100; ++i) {
    array += (i ? "," : "") + one;
    lines += one + "\n";
  }
  array += "]";
  ingest_parser parser;
  using clock = std::chrono::steady_clock;
  auto measure = [&](const char* name, std::string_view type, const std::string& body,
                     std::size_t events_per_body, std::size_t readable) {
    std::size_t events = 0;
    auto start = clock::now();
    auto deadline = start + std::chrono::milliseconds(300);
    while (clock::now() < deadline) {
      for (int i = 0; i < 200; ++i) {
        auto result = parser.parse(type, body, readable);
        if (!result.ok())
          FAIL() << result.error;
        events += result.items.size();
      }
    }
    EXPECT_EQ(events % events_per_body, 0u);
    double seconds = std::chrono::duration<double>(clock::now() - start).count();
    std::printf("[ ingest   ] %-34s %10.0f events/s (%zu B per event)\n", name, events / seconds,
                body.size() / events_per_body);
  };
  measure("single object (copied)", json_type, one, 1, one.size());
  std::string padded_one = one;
  padded_one.reserve(one.size() + ingest_parser::padding);
  measure("single object (in place)", json_type, padded_one, 1, padded_one.capacity());
  measure("array of 100", json_type, array, 100, array.size());
  measure("ndjson of 100", ndjson_type, lines, 100, lines.size());
}
