# Writes a Rails session through ActionDispatch's own cookie store and prints what it set.
#
# Reads {"secretKeyBase": ..., "cbc": bool, "serializer": "json"|"marshal",
# "payload": {...}} on stdin; prints {"setCookie": [...], "cacheMarshal": base64,
# "cacheJson": base64} on stdout: the Set-Cookie of ActionDispatch::Session::CookieStore, and
# the bytes ActiveSupport's cache writes for a cache-store session.
require "json"
require "base64"
require "tmpdir"
require "action_dispatch"
require "active_support/cache"
require "active_support/key_generator"
require "active_support/messages/rotation_configuration"

args = JSON.parse($stdin.read)
cookie_name = "_app_session"

login = lambda do |env|
  env["rack.session"].update(args["payload"])
  [200, { "Content-Type" => "text/plain" }, ["ok"]]
end
app = ActionDispatch::Cookies.new(ActionDispatch::Session::CookieStore.new(login, key: cookie_name))

key_generator = ActiveSupport::CachingKeyGenerator.new(
  ActiveSupport::KeyGenerator.new(args["secretKeyBase"], iterations: 1000)
)
rotations = ActiveSupport::Messages::RotationConfiguration.new
env = Rack::MockRequest.env_for("/")
env.merge!(
  "action_dispatch.secret_key_base" => args["secretKeyBase"],
  "action_dispatch.key_generator" => key_generator,
  "action_dispatch.cookies_serializer" => (args["serializer"] || "json").to_sym,
  "action_dispatch.use_authenticated_cookie_encryption" => !args["cbc"],
  "action_dispatch.encrypted_cookie_cipher" => args["cbc"] ? "aes-256-cbc" : "aes-256-gcm",
  "action_dispatch.encrypted_cookie_salt" => "encrypted cookie",
  "action_dispatch.encrypted_signed_cookie_salt" => "signed encrypted cookie",
  "action_dispatch.authenticated_encrypted_cookie_salt" => "authenticated encrypted cookie",
  "action_dispatch.use_cookies_with_metadata" => true,
  "action_dispatch.cookies_rotations" => rotations
)
_status, headers, _body = app.call(env)

cache_bytes = Dir.mktmpdir do |dir|
  store = ActiveSupport::Cache::FileStore.new(dir)
  store.write("_session_id:test", args["payload"])
  File.binread(Dir.glob(File.join(dir, "**", "*")).find { |f| File.file?(f) })
end

puts JSON.generate(
  "setCookie" => Array(headers["Set-Cookie"]).flat_map { |h| h.split("\n") },
  "cacheMarshal" => Base64.strict_encode64(cache_bytes),
  "cacheJson" => Base64.strict_encode64(ActiveSupport::JSON.encode(args["payload"]))
)
