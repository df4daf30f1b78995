// Every test process talks to local stand-ins only: fake credentials, a fixed region, no SDK
// warnings about Node 20, and quiet Powertools logs unless a test captures them.
process.env.AWS_ACCESS_KEY_ID = 'AKIDLOCALTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'local-test-secret';
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
delete process.env.GREENLIGHT_CONFIG;
// Powertools writes straight to stdout; a test that reads the logs sets INFO before its first log line.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
