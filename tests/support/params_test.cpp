#include "actors/support/params.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace hookwerk::support;

namespace {

params form(std::string_view body) {
  auto p = params::from_form(body);
  EXPECT_TRUE(p.has_value()) << body;
  return p ? *p : params{};
}

params json(std::string_view body) {
  auto p = params::from_json(body);
  EXPECT_TRUE(p.has_value()) << body;
  return p ? *p : params{};
}

template <class T>
void expect_ok(const param_result<T>& r, const T& v, const char* what) {
  EXPECT_TRUE(r.ok()) << what;
  EXPECT_EQ(r.value, v) << what;
}

template <class T>
void expect_invalid(const param_result<T>& r, const char* what) {
  EXPECT_TRUE(r.invalid()) << what;
}

template <class T>
void expect_absent(const param_result<T>& r, const char* what) {
  EXPECT_TRUE(r.absent()) << what;
}

} // namespace

// --- decoding -----------------------------------------------------------------------------

TEST(params, form_values_are_strings) {
  auto p = form("username=acme&password=s3cret&id=17");
  EXPECT_EQ(p.size(), 3u);
  ASSERT_NE(p.find("id"), nullptr);
  EXPECT_EQ(p.find("id")->type, param_value::kind::string);
  EXPECT_EQ(p.find("id")->text, "17");
  EXPECT_EQ(p.find("missing"), nullptr);
}

TEST(params, json_values_keep_their_kind) {
  auto p = json(R"({"s":"x","i":17,"n":-3,"u":18446744073709551615,"d":17.5,"e":1e2,)"
                R"("z":17.0,"t":true,"f":false,"nil":null,"o":{"a":1},"a":[1]})");
  auto kind = [&](const char* name) { return p.find(name)->type; };
  auto text = [&](const char* name) { return p.find(name)->text; };
  EXPECT_EQ(kind("s"), param_value::kind::string);
  EXPECT_EQ(text("s"), "x");
  EXPECT_EQ(kind("i"), param_value::kind::number);
  EXPECT_EQ(text("i"), "17");
  EXPECT_EQ(text("n"), "-3");
  EXPECT_EQ(text("u"), "18446744073709551615");
  EXPECT_EQ(text("d"), "17.5");
  EXPECT_EQ(text("e"), "100.0");
  EXPECT_EQ(text("z"), "17.0");
  EXPECT_EQ(kind("t"), param_value::kind::boolean);
  EXPECT_EQ(text("t"), "true");
  EXPECT_EQ(text("f"), "false");
  EXPECT_EQ(kind("nil"), param_value::kind::null);
  EXPECT_EQ(kind("o"), param_value::kind::other);
  EXPECT_EQ(kind("a"), param_value::kind::other);
}

TEST(params, json_strings_are_unescaped_copies) {
  std::optional<params> p;
  {
    std::string body = R"({"a":"line\nbreak \u00e4 \"q\"","k\u0065y":"v"})";
    p = params::from_json(body);
    // Reuse the thread's parser so any view into its buffer would now be stale.
    ASSERT_TRUE(params::from_json(R"({"zzzzzzzzzzzzzzzzzzzz":"yyyyyyyyyyyyyyyyyyyyyyy"})"));
  }
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->get_string("a").value, "line\nbreak \xc3\xa4 \"q\"");
  EXPECT_EQ(p->get_string("key").value, "v");
}

TEST(params, json_rejects_malformed_bodies) {
  for (const char* bad : {R"({"a":tru})", R"({"a":1,})", "[1]", R"("x")", "17", "null", "",
                          "   ", R"({"a":1.2.3})", R"({"a":01})", R"({"a":1} x)", R"({"a")",
                          "{", R"({'a':1})", R"({"a":"\x"})", "{\"a\":\"\xff\"}",
                          R"({"a":99999999999999999999999})"})
    EXPECT_FALSE(params::from_json(bad).has_value()) << bad;
}

TEST(params, json_accepts_whitespace_and_empty_object) {
  EXPECT_TRUE(params::from_json(" \n{ } \n").has_value());
  EXPECT_EQ(json("{}").size(), 0u);
}

TEST(params, json_rejects_deep_nesting_without_crashing) {
  std::string deep = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(params::from_json(deep).has_value());
}

TEST(params, form_rejects_malformed_escapes) {
  EXPECT_FALSE(params::from_form("username=%zz").has_value());
  EXPECT_FALSE(params::from_form("username=acme&password=%4").has_value());
  EXPECT_FALSE(params::from_form("%=1").has_value());
}

TEST(params, last_occurrence_wins) {
  auto f = form("id=1&id=2&ID=3");
  expect_ok(f.get_positive_id("id"), uint64_t{2}, "form");
  expect_ok(f.get_positive_id("ID"), uint64_t{3}, "form case-sensitive");
  auto j = json(R"({"id":1,"id":"2","Id":3})");
  expect_ok(j.get_positive_id("id"), uint64_t{2}, "json");
  expect_ok(j.get_positive_id("Id"), uint64_t{3}, "json case-sensitive");
  auto n = json(R"({"id":1,"id":null})");
  EXPECT_FALSE(n.has("id"));
}

TEST(params, many_distinct_names_decode_quickly) {
  std::string body;
  for (int i = 0; i < 100000; ++i)
    body += "n" + std::to_string(i) + "=v&";
  auto p = form(body);
  EXPECT_EQ(p.size(), 100000u);
  EXPECT_EQ(p.get_string("n99999").value, "v");
}

// --- decode(): content-type selection --------------------------------------------------------

TEST(params, decode_uses_json_for_json_media_types) {
  for (const char* ct : {"application/json", "application/json; charset=utf-8",
                         "Application/JSON;charset=UTF-8", "  application/json  ",
                         "application/vnd.api+json", "application/problem+JSON; x=y"}) {
    auto p = params::decode(ct, R"({"username":"acme"})");
    ASSERT_TRUE(p.has_value()) << ct;
    EXPECT_EQ(p->get_string("username").value, "acme") << ct;
    // A form body under a JSON content type is not valid.
    EXPECT_FALSE(params::decode(ct, "username=acme").has_value()) << ct;
  }
}

TEST(params, decode_uses_form_for_form_media_type) {
  for (const char* ct : {"application/x-www-form-urlencoded",
                         "application/x-www-form-urlencoded; charset=UTF-8",
                         "APPLICATION/X-WWW-FORM-URLENCODED"}) {
    auto p = params::decode(ct, "username=acme");
    ASSERT_TRUE(p.has_value()) << ct;
    EXPECT_EQ(p->get_string("username").value, "acme") << ct;
    // A JSON-looking body under a form content type is decoded as form data.
    auto q = params::decode(ct, R"({"username":"acme"})");
    ASSERT_TRUE(q.has_value()) << ct;
    EXPECT_FALSE(q->has("username")) << ct;
    EXPECT_FALSE(params::decode(ct, "username=%zz").has_value()) << ct;
  }
}

TEST(params, decode_sniffs_missing_or_other_content_types) {
  for (const char* ct : {"", "text/plain", "application/octet-stream", "application/jsonx"}) {
    auto j = params::decode(ct, " \r\n\t{\"username\":\"acme\"}");
    ASSERT_TRUE(j.has_value()) << ct;
    EXPECT_EQ(j->get_string("username").value, "acme") << ct;
    auto f = params::decode(ct, "username=acme");
    ASSERT_TRUE(f.has_value()) << ct;
    EXPECT_EQ(f->get_string("username").value, "acme") << ct;
    EXPECT_FALSE(params::decode(ct, "{\"username\":tru}").has_value()) << ct;
    EXPECT_FALSE(params::decode(ct, "username=%zz").has_value()) << ct;
    // "[1]" does not start with '{', so it is form data with one name.
    auto a = params::decode(ct, "[1]");
    ASSERT_TRUE(a.has_value()) << ct;
    EXPECT_TRUE(a->has("[1]")) << ct;
  }
}

TEST(params, decode_empty_body) {
  auto none = params::decode("", "");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->size(), 0u);
  auto f = params::decode("application/x-www-form-urlencoded", "");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->size(), 0u);
  EXPECT_FALSE(params::decode("application/json", "").has_value());
}

// --- has() / get_string() -----------------------------------------------------------------

TEST(params, has_ignores_json_null) {
  auto j = json(R"({"a":null,"b":"","c":0})");
  EXPECT_FALSE(j.has("a"));
  EXPECT_NE(j.find("a"), nullptr);
  EXPECT_TRUE(j.has("b"));
  EXPECT_TRUE(j.has("c"));
  EXPECT_FALSE(j.has("d"));
  auto f = form("b=&c");
  EXPECT_TRUE(f.has("b"));
  EXPECT_TRUE(f.has("c"));
  EXPECT_FALSE(f.has("d"));
}

TEST(params, get_string_form) {
  auto f = form("app=my+app&empty=&bare&num=17");
  expect_ok(f.get_string("app"), std::string("my app"), "app");
  expect_ok(f.get_string("empty"), std::string(), "empty");
  expect_ok(f.get_string("bare"), std::string(), "bare");
  expect_ok(f.get_string("num"), std::string("17"), "num");
  expect_absent(f.get_string("missing"), "missing");
}

TEST(params, get_string_json) {
  auto j = json(R"({"app":"zapier","empty":"","num":17,"t":true,"nil":null,"o":{},"a":[]})");
  expect_ok(j.get_string("app"), std::string("zapier"), "app");
  expect_ok(j.get_string("empty"), std::string(), "empty");
  expect_invalid(j.get_string("num"), "num");
  expect_invalid(j.get_string("t"), "t");
  expect_invalid(j.get_string("o"), "o");
  expect_invalid(j.get_string("a"), "a");
  expect_absent(j.get_string("nil"), "nil");
  expect_absent(j.get_string("missing"), "missing");
}

// --- get_positive_id() --------------------------------------------------------------------

TEST(params, get_positive_id_form) {
  auto f = form("a=17&b=007&c=9223372036854775807&d=1");
  expect_ok(f.get_positive_id("a"), uint64_t{17}, "a");
  expect_ok(f.get_positive_id("b"), uint64_t{7}, "b");
  expect_ok(f.get_positive_id("c"), uint64_t{9223372036854775807ull}, "c");
  expect_ok(f.get_positive_id("d"), uint64_t{1}, "d");
  expect_absent(f.get_positive_id("missing"), "missing");
  for (const char* bad :
       {"x=0", "x=000", "x=", "x", "x=-1", "x=%2B1", "x=+1", "x=17.5", "x=1e2", "x=abc",
        "x=%2017", "x=17%20", "x=0x11", "x=9223372036854775808", "x=18446744073709551616",
        "x=99999999999999999999999999", "x=true", "x=%EF%BC%91"}) {
    expect_invalid(form(bad).get_positive_id("x"), bad);
  }
}

TEST(params, get_positive_id_json) {
  auto j = json(R"({"a":17,"b":"17","c":"007","d":9223372036854775807,"e":"9223372036854775807"})");
  expect_ok(j.get_positive_id("a"), uint64_t{17}, "a");
  expect_ok(j.get_positive_id("b"), uint64_t{17}, "b");
  expect_ok(j.get_positive_id("c"), uint64_t{7}, "c");
  expect_ok(j.get_positive_id("d"), uint64_t{9223372036854775807ull}, "d");
  expect_ok(j.get_positive_id("e"), uint64_t{9223372036854775807ull}, "e");
  expect_absent(json(R"({"x":null})").get_positive_id("x"), "null");
  expect_absent(j.get_positive_id("missing"), "missing");
  for (const char* bad :
       {R"({"x":17.5})", R"({"x":17.0})", R"({"x":1e2})", R"({"x":1E2})", R"({"x":-1})",
        R"({"x":0})", R"({"x":-0})", R"({"x":"abc"})", R"({"x":""})", R"({"x":" 17"})",
        R"({"x":"-1"})", R"({"x":"+1"})", R"({"x":"0"})", R"({"x":true})", R"({"x":false})",
        R"({"x":{}})", R"({"x":[17]})", R"({"x":9223372036854775808})",
        R"({"x":18446744073709551615})", R"({"x":"9223372036854775808"})"}) {
    expect_invalid(json(bad).get_positive_id("x"), bad);
  }
}

// --- get_limit() ---------------------------------------------------------------------------

TEST(params, get_limit_form_and_json) {
  expect_ok(form("limit=50").get_limit("limit"), uint64_t{50}, "form");
  expect_ok(json(R"({"limit":50})").get_limit("limit"), uint64_t{50}, "json number");
  expect_ok(json(R"({"limit":"1000"})").get_limit("limit"), uint64_t{1000}, "json string");
  expect_absent(form("x=1").get_limit("limit"), "absent");
  expect_absent(json(R"({"limit":null})").get_limit("limit"), "null");
}

TEST(params, get_limit_saturates_huge_values) {
  const auto max = std::numeric_limits<uint64_t>::max();
  expect_ok(form("limit=99999999999999999999999").get_limit("limit"), max, "form");
  expect_ok(json(R"({"limit":18446744073709551615})").get_limit("limit"), max, "json number");
  expect_ok(json(R"({"limit":"9223372036854775808"})").get_limit("limit"), max, "json string");
  expect_ok(form("limit=9223372036854775807").get_limit("limit"),
            uint64_t{9223372036854775807ull}, "largest exact");
}

TEST(params, get_limit_rejects_bad_values) {
  for (const char* bad : {"limit=0", "limit=", "limit=-5", "limit=5.5", "limit=ten", "limit"})
    expect_invalid(form(bad).get_limit("limit"), bad);
  for (const char* bad : {R"({"limit":0})", R"({"limit":-5})", R"({"limit":5.5})",
                          R"({"limit":5.0})", R"({"limit":"ten"})", R"({"limit":true})",
                          R"({"limit":[5]})", R"({"limit":"99999999999999999999x"})"})
    expect_invalid(json(bad).get_limit("limit"), bad);
}

// --- get_offset() --------------------------------------------------------------------------

TEST(params, get_offset_accepts_zero_and_positive_counts) {
  expect_ok(form("offset=0").get_offset("offset"), uint64_t{0}, "form 0");
  expect_ok(form("offset=000").get_offset("offset"), uint64_t{0}, "form 000");
  expect_ok(form("offset=25").get_offset("offset"), uint64_t{25}, "form");
  expect_ok(json(R"({"offset":0})").get_offset("offset"), uint64_t{0}, "json 0");
  expect_ok(json(R"({"offset":-0})").get_offset("offset"), uint64_t{0}, "json -0");
  expect_ok(json(R"({"offset":7})").get_offset("offset"), uint64_t{7}, "json number");
  expect_ok(json(R"({"offset":"0"})").get_offset("offset"), uint64_t{0}, "json string 0");
  expect_ok(form("offset=99999999999999999999999").get_offset("offset"),
            std::numeric_limits<uint64_t>::max(), "saturates");
  expect_absent(form("x=1").get_offset("offset"), "absent");
  expect_absent(json(R"({"offset":null})").get_offset("offset"), "null");
}

TEST(params, get_offset_rejects_negative_and_malformed_values) {
  for (const char* bad : {"offset=-1", "offset=", "offset", "offset=1.5", "offset=one",
                          "offset=+1", "offset=%201"})
    expect_invalid(form(bad).get_offset("offset"), bad);
  for (const char* bad : {R"({"offset":-1})", R"({"offset":0.0})", R"({"offset":1e2})",
                          R"({"offset":"-1"})", R"({"offset":""})", R"({"offset":false})",
                          R"({"offset":{}})"})
    expect_invalid(json(bad).get_offset("offset"), bad);
}

// --- get_bool() ----------------------------------------------------------------------------

TEST(params, get_bool_form) {
  expect_ok(form("b=1").get_bool("b"), true, "1");
  expect_ok(form("b=true").get_bool("b"), true, "true");
  expect_ok(form("b=0").get_bool("b"), false, "0");
  expect_ok(form("b=false").get_bool("b"), false, "false");
  auto absent = form("x=1").get_bool("b");
  expect_absent(absent, "absent");
  EXPECT_FALSE(absent.value);
  for (const char* bad : {"b=", "b", "b=yes", "b=no", "b=2", "b=TRUE", "b=True", "b=01",
                          "b=%201", "b=on", "b=-1"})
    expect_invalid(form(bad).get_bool("b"), bad);
}

TEST(params, get_bool_json) {
  expect_ok(json(R"({"b":1})").get_bool("b"), true, "1");
  expect_ok(json(R"({"b":"1"})").get_bool("b"), true, "\"1\"");
  expect_ok(json(R"({"b":true})").get_bool("b"), true, "true");
  expect_ok(json(R"({"b":"true"})").get_bool("b"), true, "\"true\"");
  expect_ok(json(R"({"b":0})").get_bool("b"), false, "0");
  expect_ok(json(R"({"b":"0"})").get_bool("b"), false, "\"0\"");
  expect_ok(json(R"({"b":false})").get_bool("b"), false, "false");
  expect_ok(json(R"({"b":"false"})").get_bool("b"), false, "\"false\"");
  expect_absent(json(R"({"b":null})").get_bool("b"), "null");
  expect_absent(json(R"({})").get_bool("b"), "absent");
  for (const char* bad : {R"({"b":2})", R"({"b":-1})", R"({"b":1.0})", R"({"b":0.0})",
                          R"({"b":""})", R"({"b":"yes"})", R"({"b":"TRUE"})", R"({"b":[]})",
                          R"({"b":{}})", R"({"b":[true]})", R"({"b":"1 "})"})
    expect_invalid(json(bad).get_bool("b"), bad);
}
