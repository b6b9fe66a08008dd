// The editor check behind tests/editor.rs (run it through `cargo test --test editor`).
//
//   node check.mjs ajv SCHEMA...     compile each schema with ajv 8 (draft 2020-12, strict mode)
//   node check.mjs lsp ROOT SCHEMA FILE...
//                                    open each file in one yaml-language-server (LSP over stdio)
//                                    with SCHEMA associated, and print one JSON line per file:
//                                    {"file", "diagnostics": [{"line", "severity", "message"}]}
//   node check.mjs probe ROOT SCHEMA QUERIES.json
//                                    for each {file, line, character, kind: "completion"|"hover"}
//                                    (1-based line, 0-based character) print one JSON line:
//                                    completion: {"items": [{"label", "documentation"}]}; hover: {"hover": text}
//
// Lines are 1-based, as pagecast prints them.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);

// The annotation keywords that yaml-language-server (and VS Code) read.
const EDITOR_KEYWORDS = [
  "markdownDescription",
  "enumDescriptions",
  "markdownEnumDescriptions",
  "deprecationMessage",
  "doNotSuggest",
  "errorMessage",
  "patternErrorMessage",
  "defaultSnippets",
];

function compileAll(files) {
  const Ajv2020 = require("ajv/dist/2020").default;
  let failed = 0;
  for (const file of files) {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const keyword of EDITOR_KEYWORDS) ajv.addKeyword({ keyword, schemaType: ["string", "boolean", "array", "object"] });
    try {
      ajv.compile(JSON.parse(readFileSync(file, "utf8")));
      console.log(`ok ${file}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${file}: ${e.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

// A minimal LSP client: Content-Length framed JSON-RPC over the server's stdio.
class Client {
  constructor(server) {
    this.server = server;
    this.buffer = Buffer.alloc(0);
    this.nextId = 1;
    this.pending = new Map();
    this.onNotification = () => {};
    server.stdout.on("data", (chunk) => this.receive(chunk));
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const header = this.buffer.subarray(0, end).toString();
      const length = Number(/Content-Length: (\d+)/i.exec(header)[1]);
      if (this.buffer.length < end + 4 + length) return;
      const body = JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString());
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.dispatch(body);
    }
  }

  dispatch(message) {
    if (message.id !== undefined && message.method === undefined) {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (resolve) resolve(message.result);
    } else if (message.id !== undefined) {
      // A request from the server (configuration, registration): answer it.
      const result = message.method === "workspace/configuration" ? message.params.items.map(() => this.settings) : null;
      this.send({ jsonrpc: "2.0", id: message.id, result });
    } else {
      this.onNotification(message);
    }
  }

  send(message) {
    const body = Buffer.from(JSON.stringify(message));
    this.server.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.server.stdin.write(body);
  }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method, params) {
    this.send({ jsonrpc: "2.0", method, params });
  }
}

async function start(root, schema) {
  const serverMain = require.resolve("yaml-language-server/bin/yaml-language-server");
  const server = spawn(process.execPath, [serverMain, "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  const client = new Client(server);
  const schemaUri = pathToFileURL(resolve(schema)).href;
  client.settings = {
    validate: true,
    hover: true,
    completion: true,
    schemaStore: { enable: false },
    schemas: { [schemaUri]: ["*.yaml", "*.yml"] },
  };
  const waiting = new Map();
  client.onNotification = (message) => {
    if (message.method !== "textDocument/publishDiagnostics") return;
    const done = waiting.get(message.params.uri);
    if (done) done(message.params.diagnostics);
  };
  await client.request("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(resolve(root)).href,
    capabilities: {
      workspace: { configuration: true },
      textDocument: {
        completion: { completionItem: { documentationFormat: ["markdown", "plaintext"] } },
        hover: { contentFormat: ["markdown", "plaintext"] },
      },
    },
  });
  client.notify("initialized", {});
  client.notify("workspace/didChangeConfiguration", { settings: { yaml: client.settings } });
  return { server, client, waiting };
}

/// Opens a file and resolves with its first diagnostics (the schema-checked ones).
function open(client, waiting, file) {
  const uri = pathToFileURL(resolve(file)).href;
  return new Promise((done) => {
    waiting.set(uri, (diagnostics) => {
      waiting.delete(uri);
      done({ uri, diagnostics });
    });
    client.notify("textDocument/didOpen", {
      textDocument: { uri, languageId: "yaml", version: 1, text: readFileSync(file, "utf8") },
    });
  });
}

async function stop({ server, client }) {
  await client.request("shutdown", null);
  client.notify("exit", null);
  server.kill();
}

function text(documentation) {
  if (documentation === undefined || documentation === null) return "";
  return typeof documentation === "string" ? documentation : documentation.value;
}

async function probe(root, schema, queriesFile) {
  const session = await start(root, schema);
  const { client, waiting } = session;
  for (const q of JSON.parse(readFileSync(queriesFile, "utf8"))) {
    const { uri } = await open(client, waiting, q.file);
    const params = { textDocument: { uri }, position: { line: q.line - 1, character: q.character } };
    if (q.kind === "completion") {
      const result = await client.request("textDocument/completion", params);
      const items = (Array.isArray(result) ? result : (result?.items ?? [])).map((i) => ({
        label: i.label,
        documentation: text(i.documentation),
      }));
      console.log(JSON.stringify({ items }));
    } else {
      const result = await client.request("textDocument/hover", params);
      const contents = result?.contents;
      const hover = Array.isArray(contents) ? contents.map(text).join("\n") : text(contents);
      console.log(JSON.stringify({ hover }));
    }
    client.notify("textDocument/didClose", { textDocument: { uri } });
  }
  await stop(session);
}

async function lsp(root, schema, files) {
  const session = await start(root, schema);
  const { client, waiting } = session;
  // All files at once: the server validates each after a short debounce,
  // so waiting file by file would add that delay per file.
  // The first publish after opening a file is the schema-checked one.
  const results = await Promise.all(files.map((file) => open(client, waiting, file)));
  files.forEach((file, i) => {
    const simple = results[i].diagnostics.map((d) => ({
      line: d.range.start.line + 1,
      severity: d.severity,
      message: d.message,
    }));
    console.log(JSON.stringify({ file, diagnostics: simple }));
  });
  await stop(session);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "ajv") {
  compileAll(args);
} else if (mode === "lsp") {
  const [root, schema, ...files] = args;
  lsp(root, schema, files).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (mode === "probe") {
  const [root, schema, queries] = args;
  probe(root, schema, queries).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  console.error("usage: node check.mjs ajv SCHEMA... | lsp ROOT SCHEMA FILE...");
  process.exit(2);
}
