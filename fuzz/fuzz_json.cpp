// libFuzzer target for ctnn's own JSON reader (include/ctnn/io/detail/json.hpp), checked
// against nlohmann-json, a reader written independently: the input is a whole JSON text. A bug
// is a crash or sanitizer report, an exception other than the reader's own, a text one reader
// accepts and the other refuses, a value that differs between them (kinds, strings, numbers,
// array items, object members), an offset or error position outside the input, or a value
// that doesn't read back the same after json_quote and the numbers' text write it out again.
//
// Where the two differ by design, the input is only checked against ctnn's own rules: nesting
// deeper than JsonReader::max_depth (ctnn refuses it), a number beyond a double's range (ctnn
// keeps numbers as text; nlohmann refuses it: RFC 8259 6 lets a reader limit the range), and
// a UTF-8 byte-order mark at the start (nlohmann skips it; JSON texts must not have one, RFC
// 8259 8.1), and a NUL byte (nlohmann ends the text there; no JSON text holds one, so ctnn must
// refuse it).
#include <cmath>    // std::isinf
#include <cstddef>
#include <cstdint>
#include <cstdio>   // std::sscanf
#include <cstdlib>  // std::strtod
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ctnn/io/detail/json.hpp"

namespace {

using ctnn::io::detail::Json;

struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
using Reader = ctnn::io::detail::JsonReader<JsonError>;

[[noreturn]] void bug() { __builtin_trap(); }

// Every value starts at its offset, with the character its kind starts with.
void check_offsets(const Json& v, std::string_view text) {
  if (v.offset >= text.size()) bug();
  const char c = text[v.offset];
  switch (v.kind) {
    case Json::Kind::null: if (c != 'n') bug(); break;
    case Json::Kind::boolean: if (c != (v.boolean ? 't' : 'f')) bug(); break;
    case Json::Kind::number:
      if (text.substr(v.offset, v.text.size()) != v.text) bug();  // a number is its own text
      break;
    case Json::Kind::string: if (c != '"') bug(); break;
    case Json::Kind::array: if (c != '[') bug(); break;
    case Json::Kind::object: if (c != '{' || v.keys.size() != v.items.size()) bug(); break;
  }
  for (const auto& item : v.items) check_offsets(item, text);
}

// The value written out as JSON again: strings and keys through json_quote, numbers as read.
std::string write(const Json& v) {
  switch (v.kind) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return v.boolean ? "true" : "false";
    case Json::Kind::number: return v.text;
    case Json::Kind::string: return ctnn::io::detail::json_quote(v.text);
    case Json::Kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.items.size(); ++i) out += (i ? "," : "") + write(v.items[i]);
      return out + "]";
    }
    case Json::Kind::object: {
      std::string out = "{";
      for (std::size_t i = 0; i < v.items.size(); ++i)
        out += (i ? "," : "") + ctnn::io::detail::json_quote(v.keys[i]) + ":" + write(v.items[i]);
      return out + "}";
    }
  }
  bug();
}

bool same_tree(const Json& a, const Json& b) {
  if (a.kind != b.kind || a.boolean != b.boolean || a.text != b.text || a.keys != b.keys ||
      a.items.size() != b.items.size())
    return false;
  for (std::size_t i = 0; i < a.items.size(); ++i)
    if (!same_tree(a.items[i], b.items[i])) return false;
  return true;
}

// ctnn's value agrees with nlohmann's. nlohmann keeps one member per key (the last one's value,
// at the first one's place), ctnn all of them in file order.
void check_same(const Json& mine, const nlohmann::ordered_json& theirs) {
  switch (mine.kind) {
    case Json::Kind::null: if (!theirs.is_null()) bug(); return;
    case Json::Kind::boolean: if (!theirs.is_boolean() || theirs.get<bool>() != mine.boolean) bug(); return;
    case Json::Kind::string: if (!theirs.is_string() || theirs.get<std::string>() != mine.text) bug(); return;
    case Json::Kind::number: {
      if (!theirs.is_number()) bug();
      const double value = std::strtod(mine.text.c_str(), nullptr);
      if (theirs.is_number_unsigned()) {
        if (static_cast<double>(theirs.get<std::uint64_t>()) != value) bug();
      } else if (theirs.is_number_integer()) {
        if (static_cast<double>(theirs.get<std::int64_t>()) != value) bug();
      } else if (theirs.get<double>() != value) {
        bug();
      }
      return;
    }
    case Json::Kind::array:
      if (!theirs.is_array() || theirs.size() != mine.items.size()) bug();
      for (std::size_t i = 0; i < mine.items.size(); ++i) check_same(mine.items[i], theirs[i]);
      return;
    case Json::Kind::object: {
      if (!theirs.is_object()) bug();
      std::size_t distinct = 0;
      for (std::size_t i = 0; i < mine.keys.size(); ++i) {
        bool last = true;  // the last member with this key is the one nlohmann kept
        for (std::size_t j = i + 1; j < mine.keys.size(); ++j) last = last && mine.keys[j] != mine.keys[i];
        if (!last) continue;
        ++distinct;
        const auto it = theirs.find(mine.keys[i]);
        if (it == theirs.end()) bug();
        check_same(mine.items[i], *it);
      }
      if (theirs.size() != distinct) bug();
      return;
    }
  }
}

bool overflows_double(const Json& v) {
  if (v.kind == Json::Kind::number && std::isinf(std::strtod(v.text.c_str(), nullptr))) return true;
  for (const auto& item : v.items)
    if (overflows_double(item)) return true;
  return false;
}

bool too_deep(std::string_view message) { return message.find("nesting deeper than") != std::string_view::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool bom = text.starts_with("\xEF\xBB\xBF");
  Json mine;
  bool accepted = true;
  std::string refusal;
  try {
    mine = Reader(text).parse();
  } catch (const JsonError& e) {
    accepted = false;
    refusal = e.what();
    // "byte N: what", N within the input.
    std::size_t n = 0;
    if (!refusal.starts_with("byte ") || std::sscanf(refusal.c_str(), "byte %zu:", &n) != 1 || n > size) bug();
  }
  if (accepted) {
    check_offsets(mine, text);
    const std::string again = write(mine);
    if (!same_tree(Reader(again).parse(), mine)) bug();
  }
  const bool nul = text.find('\0') != std::string_view::npos;
  if (nul && accepted) bug();
  if (bom || nul || (!accepted && too_deep(refusal)) || (accepted && overflows_double(mine))) return 0;
  const auto theirs = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (theirs.is_discarded() == accepted) bug();  // accepted by one reader, refused by the other
  if (accepted) check_same(mine, theirs);
  return 0;
}
