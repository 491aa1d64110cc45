#include "kube/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "kube/tls.h"

namespace kube {
namespace {

namespace fs = std::filesystem;

Status ConfigError(const std::string& message) { return Status(Reason::kConfigError, message); }

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return ConfigError("cannot read " + path + ": no such file");
    return ConfigError("cannot read " + path + ": permission denied or not a file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ConfigError("cannot read " + path);
  return ss.str();
}

std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// One named entry (cluster, user or context) and the file that defined it.
struct Entry {
  YAML::Node body;
  std::string file;
  std::string dir;
};

struct Merged {
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string current_context;
  std::vector<std::string> files;
};

std::string FileList(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) {
    if (!out.empty()) out += ", ";
    out += f;
  }
  return out;
}

// Reads a scalar string field; absent -> "", non-scalar -> error.
Result<std::string> GetString(const YAML::Node& map, const char* key, const std::string& where) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return std::string();
  if (!n.IsScalar()) return ConfigError(where + key + ": expected a string");
  return n.Scalar();
}

Result<bool> GetBool(const YAML::Node& map, const char* key, const std::string& where) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return false;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return ConfigError(where + key + ": expected true or false, got \"" +
                       (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "\"");
  }
  return v;
}

// Adds the entries of one list ("clusters", "users", "contexts") to `into`; the first
// file to define a name wins.
Status MergeList(const YAML::Node& root, const char* list, const char* body_key,
                 const std::string& file, std::map<std::string, Entry>& into) {
  YAML::Node items = root[list];
  if (!items || items.IsNull()) return Status::OK();
  if (!items.IsSequence()) return ConfigError(file + ": " + list + ": expected a list");
  for (size_t i = 0; i < items.size(); ++i) {
    const YAML::Node item = items[i];
    std::string where = file + ": " + list + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) return ConfigError(where + ": expected a map with name and " + body_key);
    YAML::Node name = item["name"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) {
      return ConfigError(where + ": name: missing");
    }
    YAML::Node body = item[body_key];
    if (!body || body.IsNull()) {
      return ConfigError(where + " (" + name.Scalar() + "): " + body_key + ": missing");
    }
    if (!body.IsMap()) {
      return ConfigError(where + " (" + name.Scalar() + "): " + body_key + ": expected a map");
    }
    into.try_emplace(name.Scalar(),
                     Entry{body, file, fs::path(file).parent_path().string()});
  }
  return Status::OK();
}

Status MergeDocument(const std::string& text, const std::string& origin, Merged& m) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                       std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
  m.files.push_back(origin);
  if (!root || root.IsNull()) return Status::OK();  // an empty file adds nothing
  if (!root.IsMap()) return ConfigError(origin + ": expected a kubeconfig map at the top level");
  if (auto kind = root["kind"]; kind && kind.IsScalar() && kind.Scalar() != "Config") {
    return ConfigError(origin + ": kind: expected Config, got " + kind.Scalar());
  }
  Status s = MergeList(root, "clusters", "cluster", origin, m.clusters);
  if (!s.ok()) return s;
  s = MergeList(root, "users", "user", origin, m.users);
  if (!s.ok()) return s;
  s = MergeList(root, "contexts", "context", origin, m.contexts);
  if (!s.ok()) return s;
  auto current = GetString(root, "current-context", origin + ": ");
  if (!current.ok()) return current.status();
  if (m.current_context.empty()) m.current_context = *current;
  return Status::OK();
}

// "<data>" or the contents of "<file>" (relative to the kubeconfig); at most one of both.
Result<std::string> DataOrFile(const YAML::Node& body, const std::string& file_key,
                               const std::string& where, const Entry& e) {
  std::string data_key = file_key + "-data";
  auto data = GetString(body, data_key.c_str(), where);
  if (!data.ok()) return data.status();
  auto path = GetString(body, file_key.c_str(), where);
  if (!path.ok()) return path.status();
  if (!data->empty() && !path->empty()) {
    return ConfigError(where + file_key + " and " + data_key + " are both set; use one");
  }
  if (!data->empty()) {
    auto decoded = tls::Base64Decode(*data);
    if (!decoded) return ConfigError(where + data_key + ": not valid base64");
    return std::move(*decoded);
  }
  if (!path->empty()) {
    std::string full = ResolvePath(*path, e.dir);
    auto text = ReadFile(full);
    if (!text.ok()) return ConfigError(where + file_key + ": " + text.status().message());
    return std::move(*text);
  }
  return std::string();
}

Status ParseCluster(const Entry& e, const std::string& name, RestConfig& cfg) {
  std::string where = e.file + ": cluster \"" + name + "\": ";
  auto server = GetString(e.body, "server", where);
  if (!server.ok()) return server.status();
  if (server->empty()) return ConfigError(where + "server: missing");
  std::string url = *server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return ConfigError(where + "server: \"" + *server + "\" is not an http(s):// URL");
  }
  cfg.server = url;
  auto sni = GetString(e.body, "tls-server-name", where);
  if (!sni.ok()) return sni.status();
  cfg.tls_server_name = *sni;
  auto insecure = GetBool(e.body, "insecure-skip-tls-verify", where);
  if (!insecure.ok()) return insecure.status();
  cfg.insecure_skip_tls_verify = *insecure;
  auto ca = DataOrFile(e.body, "certificate-authority", where, e);
  if (!ca.ok()) return ca.status();
  if (!ca->empty()) {
    if (cfg.insecure_skip_tls_verify) {
      return ConfigError(where +
                         "insecure-skip-tls-verify is set together with a certificate authority; "
                         "use one");
    }
    auto store = tls::StoreFromPem(*ca);
    if (!store.ok()) {
      return ConfigError(where + "certificate-authority: " + store.status().message());
    }
    cfg.ca_pem = std::move(*ca);
  }
  return Status::OK();
}

Result<ExecConfig> ParseExec(const YAML::Node& body, const std::string& where,
                             const Entry& e) {
  ExecConfig ex;
  if (!body.IsMap()) return ConfigError(where + "exec: expected a map");
  std::string w = where + "exec.";
  auto api = GetString(body, "apiVersion", w);
  if (!api.ok()) return api.status();
  if (*api != "client.authentication.k8s.io/v1" &&
      *api != "client.authentication.k8s.io/v1beta1") {
    return ConfigError(w + "apiVersion: " +
                       (api->empty() ? std::string("missing") : "\"" + *api + "\" unsupported") +
                       " (client.authentication.k8s.io/v1 or v1beta1)");
  }
  ex.api_version = *api;
  auto cmd = GetString(body, "command", w);
  if (!cmd.ok()) return cmd.status();
  if (cmd->empty()) return ConfigError(w + "command: missing");
  // Like client-go: a command with a slash is relative to the kubeconfig; a bare name
  // is looked up in PATH.
  ex.command = cmd->find('/') != std::string::npos ? ResolvePath(*cmd, e.dir) : *cmd;
  if (YAML::Node args = body["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return ConfigError(w + "args: expected a list of strings");
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) {
        return ConfigError(w + "args[" + std::to_string(i) + "]: expected a string");
      }
      ex.args.push_back(args[i].Scalar());
    }
  }
  if (YAML::Node env = body["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return ConfigError(w + "env: expected a list of {name, value}");
    for (size_t i = 0; i < env.size(); ++i) {
      std::string we = w + "env[" + std::to_string(i) + "].";
      if (!env[i].IsMap()) return ConfigError(we.substr(0, we.size() - 1) + ": expected a map");
      auto n = GetString(env[i], "name", we);
      if (!n.ok()) return n.status();
      if (n->empty()) return ConfigError(we + "name: missing");
      auto v = GetString(env[i], "value", we);
      if (!v.ok()) return v.status();
      ex.env[*n] = *v;
    }
  }
  auto provide = GetBool(body, "provideClusterInfo", w);
  if (!provide.ok()) return provide.status();
  ex.provide_cluster_info = *provide;
  auto mode = GetString(body, "interactiveMode", w);
  if (!mode.ok()) return mode.status();
  if (!mode->empty() && *mode != "Never" && *mode != "IfAvailable" && *mode != "Always") {
    return ConfigError(w + "interactiveMode: \"" + *mode +
                       "\" is not one of Never, IfAvailable, Always");
  }
  if (mode->empty() && ex.api_version == "client.authentication.k8s.io/v1") {
    return ConfigError(w + "interactiveMode: missing (required for apiVersion "
                           "client.authentication.k8s.io/v1)");
  }
  if (*mode == "Always") {
    return ConfigError(w + "interactiveMode: Always needs a terminal, which this "
                           "non-interactive client never has");
  }
  ex.interactive_mode = mode->empty() ? "IfAvailable" : *mode;
  return ex;
}

Status ParseUser(const Entry& e, const std::string& name, RestConfig& cfg) {
  std::string where = e.file + ": user \"" + name + "\": ";
  for (const char* unsupported : {"auth-provider", "username", "password", "as"}) {
    if (YAML::Node n = e.body[unsupported]; n && !n.IsNull()) {
      return ConfigError(where + unsupported + ": not supported by this client");
    }
  }
  auto cert = DataOrFile(e.body, "client-certificate", where, e);
  if (!cert.ok()) return cert.status();
  auto key = DataOrFile(e.body, "client-key", where, e);
  if (!key.ok()) return key.status();
  if (cert->empty() != key->empty()) {
    return ConfigError(where + (cert->empty() ? "client-certificate" : "client-key") +
                       ": missing (client-certificate and client-key go together)");
  }
  if (!cert->empty()) {
    auto c = tls::CertificateFromPem(*cert);
    if (!c.ok()) return ConfigError(where + "client-certificate: " + c.status().message());
    auto k = tls::PrivateKeyFromPem(*key);
    if (!k.ok()) return ConfigError(where + "client-key: " + k.status().message());
    if (!tls::KeyMatchesCertificate(c->get(), k->get())) {
      return ConfigError(where + "client-key: does not match client-certificate");
    }
    cfg.client_cert_pem = std::move(*cert);
    cfg.client_key_pem = std::move(*key);
  }
  auto token = GetString(e.body, "token", where);
  if (!token.ok()) return token.status();
  cfg.bearer_token = *token;
  auto token_file = GetString(e.body, "tokenFile", where);
  if (!token_file.ok()) return token_file.status();
  if (!token_file->empty()) {
    cfg.bearer_token_file = ResolvePath(*token_file, e.dir);
    auto text = ReadFile(cfg.bearer_token_file);
    if (!text.ok()) return ConfigError(where + "tokenFile: " + text.status().message());
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) return ConfigError(where + "tokenFile: " + cfg.bearer_token_file + " is empty");
    cfg.bearer_token = t;
  }
  if (YAML::Node ex = e.body["exec"]; ex && !ex.IsNull()) {
    if (!token->empty() || !token_file->empty()) {
      return ConfigError(where + "exec: set together with " +
                         (token->empty() ? "tokenFile" : "token") +
                         "; only one authentication method is allowed");
    }
    auto parsed = ParseExec(ex, where, e);
    if (!parsed.ok()) return parsed.status();
    cfg.exec = std::move(*parsed);
  }
  return Status::OK();
}

Result<RestConfig> Resolve(const Merged& m, const std::string& context) {
  std::string files = FileList(m.files);
  std::string ctx_name = context.empty() ? m.current_context : context;
  if (ctx_name.empty()) {
    return ConfigError(files + ": current-context: not set and no context was given");
  }
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end()) {
    return ConfigError(files + ": " + (context.empty() ? "current-context" : "context") +
                       ": context \"" + ctx_name + "\" is not defined under contexts");
  }
  const Entry& ce = ctx->second;
  std::string where = ce.file + ": context \"" + ctx_name + "\": ";
  auto cluster_name = GetString(ce.body, "cluster", where);
  if (!cluster_name.ok()) return cluster_name.status();
  if (cluster_name->empty()) return ConfigError(where + "cluster: missing");
  auto user_name = GetString(ce.body, "user", where);
  if (!user_name.ok()) return user_name.status();
  auto ns = GetString(ce.body, "namespace", where);
  if (!ns.ok()) return ns.status();

  RestConfig cfg;
  auto cl = m.clusters.find(*cluster_name);
  if (cl == m.clusters.end()) {
    return ConfigError(where + "cluster: \"" + *cluster_name +
                       "\" is not defined under clusters in " + files);
  }
  Status s = ParseCluster(cl->second, *cluster_name, cfg);
  if (!s.ok()) return s;
  if (!user_name->empty()) {
    auto us = m.users.find(*user_name);
    if (us == m.users.end()) {
      return ConfigError(where + "user: \"" + *user_name + "\" is not defined under users in " +
                         files);
    }
    s = ParseUser(us->second, *user_name, cfg);
    if (!s.ok()) return s;
  }
  if (!ns->empty()) cfg.default_namespace = *ns;
  cfg.source = "kubeconfig " + files + " (context " + ctx_name + ")";
  return cfg;
}

std::string Trimmed(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<RestConfig> LoadKubeconfig(const std::vector<std::string>& paths,
                                  const std::string& context) {
  Merged m;
  std::vector<std::string> missing;
  for (const auto& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      missing.push_back(path);
      continue;
    }
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    Status s = MergeDocument(*text, path, m);
    if (!s.ok()) return s;
  }
  if (m.files.empty()) {
    return ConfigError("no kubeconfig file found (looked for " + FileList(missing) + ")");
  }
  return Resolve(m, context);
}

Result<RestConfig> ParseKubeconfig(const std::string& yaml_text, const std::string& origin,
                                   const std::string& context) {
  Merged m;
  Status s = MergeDocument(yaml_text, origin, m);
  if (!s.ok()) return s;
  return Resolve(m, context);
}

Result<RestConfig> InClusterConfig(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return ConfigError(
        "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(not running in a pod?)");
  }
  RestConfig cfg;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  cfg.server = "https://" + h + ":" + port;
  cfg.bearer_token_file = sa_dir + "/token";
  auto token = ReadFile(cfg.bearer_token_file);
  if (!token.ok()) return ConfigError("in-cluster: token: " + token.status().message());
  cfg.bearer_token = Trimmed(*token);
  if (cfg.bearer_token.empty()) {
    return ConfigError("in-cluster: token: " + cfg.bearer_token_file + " is empty");
  }
  auto ca = ReadFile(sa_dir + "/ca.crt");
  if (!ca.ok()) return ConfigError("in-cluster: ca.crt: " + ca.status().message());
  if (auto store = tls::StoreFromPem(*ca); !store.ok()) {
    return ConfigError("in-cluster: ca.crt: " + sa_dir + "/ca.crt: " + store.status().message());
  }
  cfg.ca_pem = std::move(*ca);
  if (auto ns = ReadFile(sa_dir + "/namespace"); ns.ok() && !Trimmed(*ns).empty()) {
    cfg.default_namespace = Trimmed(*ns);
  }
  cfg.source = "in-cluster (" + sa_dir + ")";
  return cfg;
}

Result<RestConfig> LoadConfig(const std::string& kubeconfig_flag, const std::string& context) {
  if (!kubeconfig_flag.empty()) {
    std::error_code ec;
    if (!fs::exists(kubeconfig_flag, ec)) {
      return ConfigError("--kubeconfig: " + kubeconfig_flag + ": no such file");
    }
    return LoadKubeconfig({kubeconfig_flag}, context);
  }
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::vector<std::string> paths;
    std::string all = env;
    size_t start = 0;
    while (start <= all.size()) {
      size_t colon = all.find(':', start);
      if (colon == std::string::npos) colon = all.size();
      if (colon > start) paths.push_back(all.substr(start, colon - start));
      start = colon + 1;
    }
    return LoadKubeconfig(paths, context);
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host != nullptr && *host) {
    return InClusterConfig();
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return ConfigError("no configuration: no --kubeconfig, KUBECONFIG, in-cluster "
                       "environment or HOME");
  }
  std::string path = std::string(home) + "/.kube/config";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return ConfigError("no configuration: no --kubeconfig, KUBECONFIG, in-cluster environment, "
                       "and " + path + " does not exist");
  }
  return LoadKubeconfig({path}, context);
}

}  // namespace kube
