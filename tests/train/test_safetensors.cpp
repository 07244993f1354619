// The safetensors reader and writer: a file written here by hand to the specification, round
// trips, and rejection of malformed files with messages that say where the problem is.
#include <cstdint>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <catch2/catch.hpp>
#include <ctnn/io/safetensors.hpp>

using namespace ctnn;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A file exactly as the specification lays it out: the header's length as 8 little-endian
// bytes, the header, then the data buffer.
Bytes file_of(const std::string& header, const Bytes& data) {
  Bytes out;
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

io::Safetensors parse(const Bytes& b) { return io::parse_safetensors(b, "test.safetensors"); }

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("ctnn_test_safetensors_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a file written by hand to the specification reads back", "[safetensors]") {
  // F32 [2]: 1.0, -2.5 (0x3F800000, 0xC0200000); F16 [3]: 1.0, -2.0, 0.5 (0x3C00, 0xC000,
  // 0x3800); BF16 [1]: 1.0 (0x3F80); F64 [] (a scalar): 1.0; I64 [1]: 7.
  const Bytes data{0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0,  // a [0, 8)
                   0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38,              // h [8, 14)
                   0x80, 0x3F,                                      // b [14, 16)
                   0, 0, 0, 0, 0, 0, 0xF0, 0x3F,                    // d [16, 24)
                   7, 0, 0, 0, 0, 0, 0, 0};                         // i [24, 32)
  // Keys in a different order from the data, whitespace, an escaped name, padding spaces.
  const std::string header =
      R"({ "h": {"dtype": "F16", "shape": [3], "data_offsets": [8, 14]},)"
      R"( "__metadata__": {"format": "pt", "note": "caf\u00e9"},)"
      R"( "a": {"shape": [2], "dtype": "F32", "data_offsets": [0, 8]},)"
      R"( "b\/x": {"dtype": "BF16", "shape": [1], "data_offsets": [14, 16]},)"
      R"( "d": {"dtype": "F64", "shape": [], "data_offsets": [16, 24]},)"
      R"( "i": {"dtype": "I64", "shape": [1], "data_offsets": [24, 32]}}    )";
  const auto file = parse(file_of(header, data));
  REQUIRE(file.tensors.size() == 5);
  CHECK(file.tensors[0].name == "h");  // header order kept
  CHECK(file.metadata.at("format") == "pt");
  CHECK(file.metadata.at("note") == "caf\xC3\xA9");
  CHECK(file.floats("a") == std::vector<float>{1.0f, -2.5f});
  CHECK(file.floats("h") == std::vector<float>{1.0f, -2.0f, 0.5f});
  CHECK(file.floats("b/x") == std::vector<float>{1.0f});
  CHECK(file.floats("d") == std::vector<float>{1.0f});
  CHECK(file.at("d").shape.empty());
  CHECK(file.at("i").dtype == io::Dtype::I64);
  CHECK(file.bytes(file.at("i"))[0] == 7);
  CHECK_THROWS_WITH(file.floats("i"), Catch::Contains("tensor 'i' has dtype I64"));
  CHECK_THROWS_WITH(file.at("nope"), Catch::Contains("has no tensor named 'nope'"));
}

TEST_CASE("F16 subnormals, infinities and NaN convert exactly", "[safetensors]") {
  // 0x0001: 2^-24; 0x8200: -2^-15 (subnormal); 0x7C00: inf; 0x7E00: NaN; 0x7BFF: 65504.
  const Bytes data{0x01, 0x00, 0x00, 0x82, 0x00, 0x7C, 0x00, 0x7E, 0xFF, 0x7B};
  const auto v = parse(file_of(R"({"x":{"dtype":"F16","shape":[5],"data_offsets":[0,10]}})", data)).floats("x");
  CHECK(v[0] == std::ldexp(1.0f, -24));
  CHECK(v[1] == -std::ldexp(1.0f, -15));
  CHECK(std::isinf(v[2]));
  CHECK(std::isnan(v[3]));
  CHECK(v[4] == 65504.0f);
}

TEST_CASE("what the writer writes follows the specification and reads back bit for bit", "[safetensors]") {
  io::SafetensorsWriter w;
  const std::vector<float> a{1.5f, -0.0f, 3.0e-39f /* subnormal */, 1e30f, -7.25f, 0.1f};
  const std::vector<float> b{42.0f};
  w.add("0.weight", {2, 3}, a);
  w.add("x\"y", {1}, b);
  w.metadata["epoch"] = "3";
  const Bytes bytes = w.bytes();
  // Checked by hand against the layout: length, then a JSON object padded to 8 bytes.
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  CHECK((8 + n) % 8 == 0);
  CHECK(bytes.size() == 8 + n + 4 * 7);
  CHECK(bytes[8] == '{');
  std::uint32_t first;
  std::memcpy(&first, bytes.data() + 8 + n, 4);
  CHECK(first == 0x3FC00000u);  // 1.5f, little-endian at the start of the data
  const auto file = parse(bytes);
  CHECK(file.metadata.at("epoch") == "3");
  const auto& t = file.at("0.weight");
  CHECK(t.shape == std::vector<std::int64_t>{2, 3});
  CHECK(t.begin == 0);
  CHECK(t.end == 24);
  const auto back = file.floats(t);
  CHECK(std::memcmp(back.data(), a.data(), 24) == 0);  // -0.0 and the subnormal too
  CHECK(file.floats("x\"y") == b);

  CHECK_THROWS_WITH(w.add("0.weight", {1}, b), Catch::Contains("added twice"));
  CHECK_THROWS_WITH(w.add("z", {2}, b), Catch::Contains("shape [2] has 2 elements but 1 values"));
}

TEST_CASE("integer and F64 tensors: the writer stores each element type's dtype, the reader widens to 64 bits",
          "[safetensors]") {
  io::SafetensorsWriter w;
  const std::vector<std::int64_t> counter{0x0102030405060708};
  w.add("n", {}, counter);  // a scalar, as PyTorch stores BN's num_batches_tracked
  w.add("i8", {3}, std::vector<std::int8_t>{-128, -1, 127});
  w.add("u8", {2}, std::vector<std::uint8_t>{0, 255});
  w.add("i16", {2}, std::vector<std::int16_t>{-32768, 1234});
  w.add("u16", {1}, std::vector<std::uint16_t>{65535});
  w.add("i32", {2}, std::vector<std::int32_t>{-2147483647 - 1, 7});
  w.add("u32", {1}, std::vector<std::uint32_t>{4294967295u});
  w.add("i64", {1, 2}, std::vector<std::int64_t>{-9223372036854775807 - 1, -2});
  w.add("u64", {2}, std::vector<std::uint64_t>{9223372036854775807u, 9223372036854775808u});
  w.add("f64", {1}, std::vector<double>{0.1});
  const Bytes bytes = w.bytes();
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  CHECK_THAT(header, Catch::Contains(R"("n":{"dtype":"I64","shape":[],"data_offsets":[0,8]})"));
  CHECK_THAT(header, Catch::Contains(R"("i8":{"dtype":"I8","shape":[3],"data_offsets":[8,11]})"));
  CHECK_THAT(header, Catch::Contains(R"("f64":{"dtype":"F64","shape":[1])"));
  // The counter's bytes, little-endian, at the start of the data buffer.
  const Bytes counter_bytes(bytes.begin() + 8 + static_cast<long>(n), bytes.begin() + 16 + static_cast<long>(n));
  CHECK(counter_bytes == Bytes{8, 7, 6, 5, 4, 3, 2, 1});

  const auto file = parse(bytes);
  CHECK(file.at("n").shape.empty());
  CHECK(file.integers("n") == counter);
  CHECK(file.integers("i8") == std::vector<std::int64_t>{-128, -1, 127});
  CHECK(file.integers("u8") == std::vector<std::int64_t>{0, 255});
  CHECK(file.integers("i16") == std::vector<std::int64_t>{-32768, 1234});
  CHECK(file.integers("u16") == std::vector<std::int64_t>{65535});
  CHECK(file.integers("i32") == std::vector<std::int64_t>{-2147483647 - 1, 7});
  CHECK(file.integers("u32") == std::vector<std::int64_t>{4294967295});
  CHECK(file.integers("i64") == std::vector<std::int64_t>{-9223372036854775807 - 1, -2});
  CHECK(file.at("f64").dtype == io::Dtype::F64);
  CHECK(file.floats("f64") == std::vector<float>{0.1f});
  CHECK_THROWS_WITH(file.integers("u64"), Catch::Contains("tensor 'u64' (U64): element 1 is 9223372036854775808, "
                                                          "beyond the I64 range"));
  CHECK_THROWS_WITH(file.integers("f64"), Catch::Contains("tensor 'f64' has dtype F64; an integer tensor"));
  CHECK_THROWS_WITH(w.add("m", {2}, counter), Catch::Contains("shape [2] has 2 elements but 1 values"));
}

TEST_CASE("BOOL tensors read as integers", "[safetensors]") {
  const auto file = parse(file_of(R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", Bytes{1, 0}));
  CHECK(file.integers("b") == std::vector<std::int64_t>{1, 0});
}

TEST_CASE("writes are atomic: a failed write leaves the old file, no temporary remains", "[safetensors]") {
  const auto dir = temp_dir();
  const auto path = dir / "ok.safetensors";
  io::SafetensorsWriter w;
  const std::vector<float> v{1, 2, 3};
  w.add("v", {3}, v);
  w.write(path);
  const auto before = io::read_safetensors(path).floats("v");
  CHECK(before == v);
  // A path in a folder that doesn't exist: the write fails and says where.
  CHECK_THROWS_WITH(w.write(dir / "missing" / "x.safetensors"), Catch::Contains("can't create"));
  // Writing over an existing file replaces it whole.
  io::SafetensorsWriter w2;
  const std::vector<float> v2{9};
  w2.add("v", {1}, v2);
  w2.write(path);
  CHECK(io::read_safetensors(path).floats("v") == v2);
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);  // no temporary left behind
  CHECK_THROWS_WITH(io::read_safetensors(dir / "absent.safetensors"), Catch::Contains("absent.safetensors: no such file"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("malformed files are rejected with the reason and the place", "[safetensors][errors]") {
  const Bytes four{0, 0, 0x80, 0x3F};
  const std::string good = R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  REQUIRE_NOTHROW(parse(file_of(good, four)));

  SECTION("too short for the length") { CHECK_THROWS_WITH(parse(Bytes{1, 2, 3}), Catch::Contains("too few for the 8-byte header length")); }
  SECTION("a header length past the end of the file") {
    Bytes b = file_of(good, four);
    b[0] = 0xFF, b[1] = 0xFF;
    CHECK_THROWS_WITH(parse(b), Catch::Contains("test.safetensors: bad header length 65535") &&
                                    Catch::Contains("the file has only"));
    b[7] = 0xFF;  // 2^63 and more: no overflow in the check
    CHECK_THROWS_WITH(parse(b), Catch::Contains("bad header length"));
  }
  SECTION("bad JSON: the offset is given") {
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32",,}})", four)),
                      Catch::Contains("bad JSON in the header (file offset 8 + byte 20: expected a string as an object key"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":"unterminated)", four)), Catch::Contains("unterminated string"));
    CHECK_THROWS_WITH(parse(file_of("{\"t\xff\":1}", four)), Catch::Contains("invalid UTF-8"));
    CHECK_THROWS_WITH(parse(file_of(std::string(100, '[') , four)), Catch::Contains("must be a JSON object"));
    CHECK_THROWS_WITH(parse(file_of("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}", four)),
                      Catch::Contains("nesting deeper than"));
    CHECK_THROWS_WITH(parse(file_of(good + "x", four)), Catch::Contains("unexpected text after"));
  }
  SECTION("a header that isn't an object of tensor descriptions") {
    CHECK_THROWS_WITH(parse(file_of(R"({"t":[1]})", four)), Catch::Contains("tensor 't' must be described by an object"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1]}})", four)), Catch::Contains("lacks 'data_offsets'"));
    CHECK_THROWS_WITH(parse(file_of(R"({"__metadata__":{"a":1}})", {})), Catch::Contains("metadata 'a' must be a string"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four)),
                      Catch::Contains("'t' appears twice"));
  }
  SECTION("a wrong dtype") {
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", four)),
                      Catch::Contains("tensor 't': unknown dtype 'F31'"));
  }
  SECTION("offsets out of range") {
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", four)),
                      Catch::Contains("tensor 't': data_offsets [4, 8] run past the data buffer's 4 bytes"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four)),
                      Catch::Contains("end before they begin"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}})", four)),
                      Catch::Contains("too large"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-1,4]}})", four)),
                      Catch::Contains("must be a non-negative integer"));
  }
  SECTION("a shape that doesn't match the byte count") {
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four)),
                      Catch::Contains("tensor 't': shape [2] of F32 needs 8 bytes, but data_offsets [0, 4] hold 4"));
    CHECK_THROWS_WITH(parse(file_of(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", four)),
                      Catch::Contains("needs too many bytes"));
  }
  SECTION("overlapping tensors, and holes") {
    const Bytes eight{0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_THROWS_WITH(parse(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight)),
                      Catch::Contains("tensors 'a' [0, 8] and 'b' [4, 8] overlap"));
    CHECK_THROWS_WITH(parse(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight)),
                      Catch::Contains("bytes [0, 4) of the data buffer belong to no tensor (before 'a')"));
    CHECK_THROWS_WITH(parse(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight)),
                      Catch::Contains("bytes [4, 8) at the end of the data buffer belong to no tensor"));
  }
}
