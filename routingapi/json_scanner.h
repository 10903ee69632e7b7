// A strict JSON (RFC 8259) reader for small request bodies that drives a SAX handler with the
// events and signatures of nlohmann::json::sax_parse (null, boolean, number_integer,
// number_unsigned, number_float, string, key, start_object, end_object, start_array,
// end_array), without nlohmann's input adapters and lexer buffers: the routing API's request
// path. It accepts exactly what nlohmann's parser accepts (a leading UTF-8 byte order mark,
// strings validated as UTF-8, surrogate pairs joined, integers that overflow read as doubles,
// doubles that overflow rejected); route_request_fuzz checks that on every input it runs. One
// deliberate difference: nlohmann stops at a NUL byte, so "{}\0garbage" parses there; here it
// is malformed.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace dwcp::routingapi {

template <class Sax>
class JsonScanner {
 public:
  static constexpr int kMaxDepth = 64;

  JsonScanner(std::string_view text, Sax& sax) : s_(text), sax_(sax) {}

  // True when the text is one JSON value with only whitespace around it; false at the first
  // error, or when the handler returns false. errorOffset() is the byte where it stopped.
  bool run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    skipSpace();
    if (!value(0)) return false;
    skipSpace();
    return pos_ == s_.size() || fail();
  }
  std::size_t errorOffset() const { return pos_; }

 private:
  bool fail() { return false; }
  bool more() const { return pos_ < s_.size(); }
  unsigned char at(std::size_t i) const { return static_cast<unsigned char>(s_[i]); }
  static bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }

  void skipSpace() {
    while (more() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool value(int depth) {
    if (!more()) return fail();
    switch (s_[pos_]) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string(text_) && sax_.string(text_);
      case 't': return literal("true") && sax_.boolean(true);
      case 'f': return literal("false") && sax_.boolean(false);
      case 'n': return literal("null") && sax_.null();
      default: return number();
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail();
    pos_ += word.size();
    return true;
  }

  bool object(int depth) {
    if (depth > kMaxDepth) return fail();
    ++pos_;
    if (!sax_.start_object(static_cast<std::size_t>(-1))) return fail();
    skipSpace();
    if (more() && s_[pos_] == '}') {
      ++pos_;
      return sax_.end_object();
    }
    while (true) {
      skipSpace();
      if (!more() || s_[pos_] != '"') return fail();
      if (!string(text_) || !sax_.key(text_)) return fail();
      skipSpace();
      if (!more() || s_[pos_] != ':') return fail();
      ++pos_;
      skipSpace();
      if (!value(depth)) return fail();
      skipSpace();
      if (!more()) return fail();
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] != '}') return fail();
      ++pos_;
      return sax_.end_object();
    }
  }

  bool array(int depth) {
    if (depth > kMaxDepth) return fail();
    ++pos_;
    if (!sax_.start_array(static_cast<std::size_t>(-1))) return fail();
    skipSpace();
    if (more() && s_[pos_] == ']') {
      ++pos_;
      return sax_.end_array();
    }
    while (true) {
      skipSpace();
      if (!value(depth)) return fail();
      skipSpace();
      if (!more()) return fail();
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] != ']') return fail();
      ++pos_;
      return sax_.end_array();
    }
  }

  // A string token into `out`, escapes decoded; pos_ is on the opening quote.
  bool string(std::string& out) {
    out.clear();
    ++pos_;
    while (true) {
      const std::size_t run = pos_;
      while (more()) {
        const unsigned char c = at(pos_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      out.append(s_.data() + run, pos_ - run);
      if (!more()) return fail();
      const unsigned char c = at(pos_);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail();  // control characters must be escaped
      if (c == '\\') {
        if (!escape(out)) return fail();
      } else if (!utf8(out)) {
        return fail();
      }
    }
  }

  bool escape(std::string& out) {
    if (pos_ + 1 >= s_.size()) return fail();
    const char e = s_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: pos_ -= 1; return fail();
    }
    std::uint32_t code = 0;
    if (!hex4(code)) return fail();
    if (code >= 0xDC00 && code <= 0xDFFF) return fail();  // a low surrogate first
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (s_.substr(pos_, 2) != "\\u") return fail();
      pos_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return fail();
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, code);
    return true;
  }

  bool hex4(std::uint32_t& code) {
    if (pos_ + 4 > s_.size()) return fail();
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') {
        code |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        code |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        code |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        --pos_;
        return fail();
      }
    }
    return true;
  }

  static void appendUtf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // One well-formed UTF-8 sequence (no overlong forms, no surrogates, at most U+10FFFF).
  bool utf8(std::string& out) {
    const unsigned char c = at(pos_);
    const std::size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (length == 0 || pos_ + length > s_.size()) return fail();
    std::uint32_t code = length == 2 ? (c & 0x1Fu) : length == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; k < length; ++k) {
      const unsigned char next = at(pos_ + k);
      if ((next & 0xC0) != 0x80) return fail();
      code = (code << 6) | (next & 0x3Fu);
    }
    if (length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) return fail();
    if (length == 4 && (code < 0x10000 || code > 0x10FFFF)) return fail();
    out.append(s_.data() + pos_, length);
    pos_ += length;
    return true;
  }

  bool number() {
    const std::size_t start = pos_;
    const bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    if (!more() || !isDigit(at(pos_))) return fail();
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (more() && isDigit(at(pos_))) ++pos_;
    }
    bool integral = true;
    if (more() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (!more() || !isDigit(at(pos_))) return fail();
      while (more() && isDigit(at(pos_))) ++pos_;
    }
    if (more() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (more() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!more() || !isDigit(at(pos_))) return fail();
      while (more() && isDigit(at(pos_))) ++pos_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      if (negative) {
        std::int64_t v = 0;
        if (auto [end, ec] = std::from_chars(first, last, v); ec == std::errc{} && end == last) {
          return sax_.number_integer(v);
        }
      } else {
        std::uint64_t v = 0;
        if (auto [end, ec] = std::from_chars(first, last, v); ec == std::errc{} && end == last) {
          return sax_.number_unsigned(v);
        }
      }
      // Out of the 64-bit range: read as a double, as nlohmann does.
    }
    token_.assign(first, last);
    const double v = std::strtod(token_.c_str(), nullptr);
    if (!std::isfinite(v)) {
      pos_ = start;
      return fail();  // nlohmann: "number overflow"
    }
    return sax_.number_float(v, token_);
  }

  std::string_view s_;
  Sax& sax_;
  std::size_t pos_ = 0;
  std::string text_;   // the current string token
  std::string token_;  // the current number token
};

}  // namespace dwcp::routingapi
