#include "profile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "report.h"

namespace anvil_run {

// ---- JSON -------------------------------------------------------------------------------------

const Json* Json::Get(const std::string& key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

std::string Json::Str(const std::string& key) const {
  const Json* v = Get(key);
  return v && v->kind == Kind::kString ? v->text : std::string();
}

double Json::Num(const std::string& key) const {
  const Json* v = Get(key);
  return v && v->kind == Kind::kNumber ? v->number : 0;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Json Document() {
    Json v = Value(0);
    Space();
    if (p_ != s_.size()) Fail("text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void Fail(const char* what) const {
    throw std::runtime_error(std::string("malformed JSON at offset ") + std::to_string(p_) + ": " + what);
  }
  void Space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
  }
  bool Eat(char c) {
    Space();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Eat(c)) Fail((std::string("expected '") + c + "'").c_str());
  }
  bool Word(const char* w) {
    const std::string word(w);
    if (s_.compare(p_, word.size(), word) != 0) return false;
    p_ += word.size();
    return true;
  }

  static void PutUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  unsigned Hex4() {
    if (p_ + 4 > s_.size()) Fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else Fail("bad \\u escape");
    }
    return v;
  }

  std::string String() {
    Expect('"');
    std::string out;
    while (true) {
      if (p_ >= s_.size()) Fail("unterminated string");
      const char c = s_[p_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= s_.size()) Fail("unterminated escape");
      const char e = s_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = Hex4();
          if (cp >= 0xd800 && cp < 0xdc00 && p_ + 1 < s_.size() && s_[p_] == '\\' && s_[p_ + 1] == 'u') {
            p_ += 2;
            const unsigned lo = Hex4();
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          PutUtf8(out, cp);
          break;
        }
        default: Fail("bad escape");
      }
    }
  }

  Json Value(int depth) {
    if (depth > 64) Fail("nested too deeply");
    Space();
    if (p_ >= s_.size()) Fail("unexpected end");
    Json v;
    const char c = s_[p_];
    if (c == '{') {
      ++p_;
      v.kind = Json::Kind::kObject;
      if (Eat('}')) return v;
      do {
        Space();
        std::string key = String();
        Expect(':');
        v.fields.emplace_back(std::move(key), Value(depth + 1));
      } while (Eat(','));
      Expect('}');
    } else if (c == '[') {
      ++p_;
      v.kind = Json::Kind::kArray;
      if (Eat(']')) return v;
      do v.items.push_back(Value(depth + 1));
      while (Eat(','));
      Expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::kString;
      v.text = String();
    } else if (Word("true")) {
      v.kind = Json::Kind::kBool;
      v.boolean = true;
    } else if (Word("false")) {
      v.kind = Json::Kind::kBool;
    } else if (Word("null")) {
      v.kind = Json::Kind::kNull;
    } else {
      const char* begin = s_.c_str() + p_;
      char* end = nullptr;
      v.number = std::strtod(begin, &end);
      if (end == begin) Fail("unexpected character");
      v.kind = Json::Kind::kNumber;
      p_ += static_cast<size_t>(end - begin);
    }
    return v;
  }

  const std::string& s_;
  size_t p_ = 0;
};

}  // namespace

Json ParseJson(const std::string& text) { return Parser(text).Document(); }

namespace {

void Quote(const std::string& s, std::string& out) {
  out += '"';
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += Format("\\u%04x", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

void Write(const Json& v, std::string& out) {
  switch (v.kind) {
    case Json::Kind::kNull: out += "null"; break;
    case Json::Kind::kBool: out += v.boolean ? "true" : "false"; break;
    case Json::Kind::kNumber: {
      const double n = v.number;
      out += n == static_cast<double>(static_cast<long long>(n)) && std::abs(n) < 9e15
                 ? std::to_string(static_cast<long long>(n))
                 : Format("%.17g", n);
      break;
    }
    case Json::Kind::kString: Quote(v.text, out); break;
    case Json::Kind::kArray:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        Write(v.items[i], out);
      }
      out += ']';
      break;
    case Json::Kind::kObject:
      out += '{';
      for (size_t i = 0; i < v.fields.size(); ++i) {
        if (i) out += ',';
        Quote(v.fields[i].first, out);
        out += ':';
        Write(v.fields[i].second, out);
      }
      out += '}';
      break;
  }
}

}  // namespace

std::string WriteJson(const Json& value) {
  std::string out;
  Write(value, out);
  return out;
}

void AppendRun(const Json& profile, Json& merged, double* offset_us) {
  merged.kind = Json::Kind::kArray;
  if (profile.kind != Json::Kind::kArray) return;
  double end = 0;
  for (Json e : profile.items) {
    for (auto& [k, v] : e.fields)
      if (k == "ts" && v.kind == Json::Kind::kNumber) v.number += *offset_us;
    end = std::max(end, e.Num("ts") + e.Num("dur"));
    merged.items.push_back(std::move(e));
  }
  *offset_us = std::max(*offset_us, end) + 1000;  // 1 ms between runs
}

// ---- profiles ---------------------------------------------------------------------------------

RunProfile SummarizeProfile(const Json& profile, const std::string& anvil_provider) {
  // ORT writes a bare array of trace events; the trace format also allows {"traceEvents": [...]}.
  const Json* events = &profile;
  if (profile.kind == Json::Kind::kObject) events = profile.Get("traceEvents");
  if (events == nullptr || events->kind != Json::Kind::kArray)
    throw std::runtime_error("the profile is not a list of trace events");
  RunProfile r;
  const std::string node_suffix = "_kernel_time";
  // Anvil's op type per node (a fused group's is its pattern, "Conv + Relu", where ORT's node event
  // names the group's generated op): node events of those nodes are counted under it.
  std::map<std::string, std::string> anvil_op;
  for (const Json& e : events->items) {
    const Json* args = e.Get("args");
    if (args && e.Str("cat") == "Kernel" && args->Str("provider") == anvil_provider)
      anvil_op.emplace(e.Str("name") + node_suffix, args->Str("op_name"));
  }
  auto add = [&](std::map<std::string, OpTimes>& ops, const Json& e, const Json& args, bool impl) {
    std::string op = args.Str("op_name");
    if (!impl) {
      auto it = anvil_op.find(e.Str("name"));
      if (it != anvil_op.end()) op = it->second;
    }
    OpTimes& t = ops[op.empty() ? "?" : op];
    ++t.count;
    t.total_us += e.Num("dur");
    if (impl) ++t.impls[args.Str("impl")];
  };
  for (const Json& e : events->items) {
    const std::string cat = e.Str("cat"), name = e.Str("name");
    const Json* args = e.Get("args");
    if (cat == "Session" && name == "model_run") r.run_us += e.Num("dur");
    if (args == nullptr) continue;
    if (cat == "Kernel" && args->Str("provider") == anvil_provider) {
      r.anvil_events = true;
      add(r.ops, e, *args, true);
      NodeTimes& n = r.anvil_nodes[name];
      if (n.count++ == 0) {
        n.op_type = args->Str("op_name");
        n.impl = args->Str("impl");
        // ORT writes an arg that looks like JSON as JSON: the shapes come back as an array.
        if (const Json* shapes = args->Get("input_shapes"))
          n.input_shapes = shapes->kind == Json::Kind::kString ? shapes->text : WriteJson(*shapes);
      }
      n.total_us += e.Num("dur");
    } else if (cat == "Node" && name.size() > node_suffix.size() &&
               name.compare(name.size() - node_suffix.size(), node_suffix.size(), node_suffix) == 0) {
      add(r.node_ops, e, *args, false);
    }
  }
  if (!r.anvil_events) r.ops = r.node_ops;
  return r;
}

namespace {

// Per op type and per run: calls, time, implementations, the median over the runs (a run the
// rest of the machine disturbed does not move it).
struct Averaged {
  double run_ms = 0;
  std::map<std::string, OpTimes> ops, node_ops;
  double ops_ms = 0, node_ms = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One op type's median over the runs (absent from a run: 0 there); returns the median total ms.
double MedianOps(const std::vector<RunProfile>& runs, std::map<std::string, OpTimes> RunProfile::*which,
                 std::map<std::string, OpTimes>& out) {
  for (const RunProfile& r : runs)
    for (const auto& [op, t] : r.*which) {
      OpTimes& o = out[op];
      for (const auto& [impl, n] : t.impls) o.impls[impl] += n;
    }
  for (auto& [op, o] : out) {
    std::vector<double> us, count;
    for (const RunProfile& r : runs) {
      auto it = (r.*which).find(op);
      us.push_back(it == (r.*which).end() ? 0 : it->second.total_us);
      count.push_back(it == (r.*which).end() ? 0 : static_cast<double>(it->second.count));
    }
    o.total_us = Median(us);
    o.count = static_cast<size_t>(Median(count) + 0.5);
  }
  std::vector<double> totals;
  for (const RunProfile& r : runs) {
    double ms = 0;
    for (const auto& [op, t] : r.*which) ms += t.total_us / 1000.0;
    totals.push_back(ms);
  }
  return Median(totals);
}

Averaged Average(const std::vector<RunProfile>& runs) {
  Averaged a;
  if (runs.empty()) return a;
  std::vector<double> run_ms;
  for (const RunProfile& r : runs) run_ms.push_back(r.run_us / 1000.0);
  a.run_ms = Median(run_ms);
  a.ops_ms = MedianOps(runs, &RunProfile::ops, a.ops);
  a.node_ms = MedianOps(runs, &RunProfile::node_ops, a.node_ops);
  return a;
}

std::string Impls(const OpTimes& t) {
  std::vector<std::pair<size_t, std::string>> by_calls;
  for (const auto& [impl, n] : t.impls) by_calls.emplace_back(n, impl.empty() ? "?" : impl);
  std::sort(by_calls.begin(), by_calls.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::string out;
  for (size_t i = 0; i < by_calls.size() && i < 2; ++i) out += (i ? ", " : "") + by_calls[i].second;
  if (by_calls.size() > 2) out += Format(" +%zu", by_calls.size() - 2);
  return out;
}

const OpTimes* Find(const std::map<std::string, OpTimes>& ops, const std::string& op) {
  auto it = ops.find(op);
  return it == ops.end() || it->second.count == 0 ? nullptr : &it->second;
}

double Ms(const std::map<std::string, OpTimes>& ops, const std::string& op) {
  const OpTimes* t = Find(ops, op);
  return t ? t->total_us / 1000.0 : 0.0;
}

std::string Share(double ms, double run_ms) { return run_ms > 0 ? Format("%.1f%%", 100.0 * ms / run_ms) : "-"; }

}  // namespace

std::string ProfileTable(const std::vector<RunProfile>& anvil_runs, const std::vector<RunProfile>& ort_runs) {
  const Averaged anvil = Average(anvil_runs), ort = Average(ort_runs);
  std::vector<std::string> ops;
  for (const auto* m : {&anvil.ops, &anvil.node_ops, &ort.node_ops})
    for (const auto& [op, t] : *m)
      if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  auto weight = [&](const std::string& op) {
    return std::max({Ms(anvil.ops, op), Ms(anvil.node_ops, op), Ms(ort.node_ops, op)});
  };
  std::stable_sort(ops.begin(), ops.end(), [&](const std::string& x, const std::string& y) { return weight(x) > weight(y); });
  std::vector<std::vector<std::string>> rows = {{"op type", "Anvil n", "Anvil ms", "mean ms", "share", "node ms",
                                                 "ORT n", "ORT ms", "mean ms", "share", "ORT/Anvil", "Anvil impl"}};
  for (const std::string& op : ops) {
    std::vector<std::string> row = {op};
    if (const OpTimes* t = Find(anvil.ops, op)) {
      const double ms = t->total_us / 1000.0;
      row.insert(row.end(), {std::to_string(t->count), Format("%.3f", ms),
                             Format("%.4f", ms / static_cast<double>(t->count)), Share(ms, anvil.run_ms)});
    } else {
      row.insert(row.end(), {"-", "-", "-", "-"});
    }
    const double anvil_node = Ms(anvil.node_ops, op);
    row.push_back(anvil_node > 0 ? Format("%.3f", anvil_node) : "-");
    if (const OpTimes* t = Find(ort.node_ops, op)) {
      const double ms = t->total_us / 1000.0;
      row.insert(row.end(), {std::to_string(t->count), Format("%.3f", ms),
                             Format("%.4f", ms / static_cast<double>(t->count)), Share(ms, ort.run_ms)});
    } else {
      row.insert(row.end(), {"-", "-", "-", "-"});
    }
    const double ort_ms = Ms(ort.node_ops, op);
    row.push_back(anvil_node > 0 && ort_ms > 0 ? Format("%.2f", ort_ms / anvil_node) : "-");
    const OpTimes* t = anvil_runs.empty() || !anvil_runs.front().anvil_events ? nullptr : Find(anvil.ops, op);
    row.push_back(t ? Impls(*t) : "");
    rows.push_back(std::move(row));
  }
  rows.push_back({"(all nodes)", "", Format("%.3f", anvil.ops_ms), "", Share(anvil.ops_ms, anvil.run_ms),
                  Format("%.3f", anvil.node_ms), "", Format("%.3f", ort.node_ms), "", Share(ort.node_ms, ort.run_ms),
                  anvil.node_ms > 0 && ort.node_ms > 0 ? Format("%.2f", ort.node_ms / anvil.node_ms) : "-", ""});
  rows.push_back({"(run)", "", Format("%.3f", anvil.run_ms), "", "", "", "", Format("%.3f", ort.run_ms), "", "",
                  anvil.run_ms > 0 && ort.run_ms > 0 ? Format("%.2f", ort.run_ms / anvil.run_ms) : "-", ""});
  return FormatTable(rows, 1);
}

std::string SlowestNodes(const std::vector<RunProfile>& anvil_runs, size_t top) {
  std::map<std::string, NodeTimes> nodes;
  std::vector<double> run_us;
  for (const RunProfile& r : anvil_runs) {
    run_us.push_back(r.run_us);
    for (const auto& [name, n] : r.anvil_nodes)
      if (!nodes.count(name)) nodes[name] = NodeTimes{n.op_type, n.input_shapes, n.impl, 0, 0};
  }
  if (nodes.empty()) return "";
  for (auto& [name, n] : nodes) {  // the median over the runs of the node's time per run
    std::vector<double> us;
    for (const RunProfile& r : anvil_runs) {
      auto it = r.anvil_nodes.find(name);
      us.push_back(it == r.anvil_nodes.end() ? 0 : it->second.total_us);
    }
    n.total_us = Median(us);
  }
  const double run = Median(run_us);
  std::vector<std::pair<std::string, NodeTimes>> sorted(nodes.begin(), nodes.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& x, const auto& y) { return x.second.total_us > y.second.total_us; });
  std::vector<std::vector<std::string>> rows = {{"node", "op type", "ms per run", "share", "input shapes", "impl"}};
  for (size_t i = 0; i < sorted.size() && i < top; ++i) {
    const auto& [name, n] = sorted[i];
    rows.push_back({name, n.op_type, Format("%.3f", n.total_us / 1000.0),
                    run > 0 ? Format("%.1f%%", 100.0 * n.total_us / run) : "-", n.input_shapes, n.impl});
  }
  return FormatTable(rows, 2);
}

}  // namespace anvil_run
