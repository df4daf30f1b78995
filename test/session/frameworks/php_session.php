<?php
// Writes one PHP session through PHP's own session module into Redis, with the save handler
// a PHP app would register, and the serialize_handler given.
//
// Reads {"handler": "php"|"php_serialize"|"php_binary", "prefix": ..., "redisPort": ...,
// "payload": {...}, "withObject": bool} on stdin; prints {"key": ...} on stdout.

final class RedisSessionHandler implements SessionHandlerInterface
{
    private $socket;

    public function __construct(private string $prefix, private int $port) {}

    private function command(string ...$parts): string
    {
        $out = '*' . count($parts) . "\r\n";
        foreach ($parts as $part) {
            $out .= '$' . strlen($part) . "\r\n" . $part . "\r\n";
        }
        fwrite($this->socket, $out);
        $line = fgets($this->socket);
        if ($line[0] === '$') {
            $length = (int) substr($line, 1);
            if ($length < 0) {
                return '';
            }
            $data = '';
            while (strlen($data) < $length + 2) {
                $data .= fread($this->socket, $length + 2 - strlen($data));
            }
            return substr($data, 0, $length);
        }
        if ($line[0] === '-') {
            throw new RuntimeException(trim($line));
        }
        return trim($line);
    }

    public function open(string $path, string $name): bool
    {
        $this->socket = fsockopen('127.0.0.1', $this->port);
        return $this->socket !== false;
    }
    public function close(): bool { fclose($this->socket); return true; }
    public function read(string $id): string|false { return $this->command('GET', $this->prefix . $id); }
    public function write(string $id, string $data): bool
    {
        return $this->command('SET', $this->prefix . $id, $data, 'EX', '600') === '+OK';
    }
    public function destroy(string $id): bool { $this->command('DEL', $this->prefix . $id); return true; }
    public function gc(int $max): int|false { return 0; }
}

$args = json_decode(stream_get_contents(STDIN), true);
ini_set('session.serialize_handler', $args['handler']);
ini_set('session.use_cookies', '0');
session_set_save_handler(new RedisSessionHandler($args['prefix'], $args['redisPort']), true);
session_start();
foreach ($args['payload'] as $name => $value) {
    $_SESSION[$name] = $value;
}
if (!empty($args['withObject'])) {
    // An object in the session, as apps keep user models: serialized with its class name.
    $_SESSION['profile'] = (object) ['theme' => 'dark', 'since' => 2019];
}
$id = session_id();
session_write_close();
echo json_encode(['key' => $args['prefix'] . $id]);
