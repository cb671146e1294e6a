#!/usr/bin/env node
// Records what llhttp, Node's HTTP/1.1 parser, decides for every input of the FuzzHTTPParser
// corpus, so that LLHTTPDifferentialTests can hold Courier's parser against a second, widely
// deployed reading of RFC 9112 without Node on the test machine.
//
//   node scripts/llhttp-decisions.js [corpus-folder output.json]     (or `make llhttp-decisions`)
//
// writes Tests/fuzz/llhttp-decisions.json (another folder and file, to explore other inputs). Run it again after adding inputs to the corpus
// (Tests/fuzz/seeds.py); the Swift test refuses a JSON file whose payloads differ from the corpus.
//
// Why the parser binding and not a server on a socket: `http.createServer` adds its own rules
// (Host required, header size limit, request timeouts) and hides where llhttp stopped; the
// binding Node's server itself drives gives llhttp's decision alone, byte-exact, with its error
// code and offset. It is driven with no lenient flags (what `--insecure-http-parser` would turn
// on stays off) and a header size limit too large to reach, so that only llhttp's grammar
// decides; Courier's limits are compared as a class of their own.
'use strict';

const fs = require('fs');
const path = require('path');

process.noDeprecation = true; // process.binding is deprecated (DEP0111) but still the parser Node's server uses.
const { HTTPParser, methods } = process.binding('http_parser');

const root = path.join(__dirname, '..');
const corpus = path.resolve(process.argv[2] || path.join(root, 'Tests/fuzz/corpus/FuzzHTTPParser'));
const output = path.resolve(process.argv[3] || path.join(root, 'Tests/fuzz/llhttp-decisions.json'));
const unreachableHeaderLimit = 1 << 30;

/// The fuzz target's reading of an input (Tests/fuzz/FuzzHTTPParser): one byte choosing the
/// limits, one byte giving a count (mod 8) of split lengths, those lengths, then the wire bytes.
/// Bytes past the end read as zeros, as FuzzInput does.
function decode(bytes) {
    const byteAt = (index) => (index < bytes.length ? bytes[index] : 0);
    const limits = byteAt(0) % 4;
    const splitCount = byteAt(1) % 8;
    const payloadStart = Math.min(2 + splitCount, bytes.length);
    return { limits, payload: bytes.subarray(payloadStart) };
}

/// Node passes header names, values and URLs as one-byte strings: each character is one byte.
const text = (value) => value;
const pairs = (flat) => {
    const out = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([text(flat[i]), text(flat[i + 1])]);
    return out;
};

/// Feeds `payload` to a fresh request parser in one piece, then signals the end of input, and
/// records every request llhttp reported and where it stopped.
function decide(payload) {
    const parser = new HTTPParser();
    const requests = [];
    let current = null;
    let pendingHeaders = [];
    let pendingURL = '';

    parser[HTTPParser.kOnMessageBegin] = () => {
        current = null;
        pendingHeaders = [];
        pendingURL = '';
    };
    // Long heads arrive in pieces before kOnHeadersComplete; after it, the same callback carries trailers.
    parser[HTTPParser.kOnHeaders] = (headers, url) => {
        if (current) {
            current.trailers.push(...pairs(headers));
        } else {
            pendingHeaders.push(...headers);
            pendingURL += url;
        }
    };
    parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url, _status, _message, upgrade, keepAlive) => {
        current = {
            method: methods[method],
            target: text(url === undefined ? pendingURL : url),
            version: `${major}.${minor}`,
            headers: pairs(headers === undefined ? pendingHeaders : headers),
            trailers: [],
            body: [],
            complete: false,
            upgrade: Boolean(upgrade),
            keepAlive: Boolean(keepAlive),
        };
        requests.push(current);
        return 0;
    };
    parser[HTTPParser.kOnBody] = (chunk) => { current.body.push(Buffer.from(chunk)); };
    parser[HTTPParser.kOnMessageComplete] = () => { current.complete = true; };
    parser[HTTPParser.kOnExecute] = () => {};
    parser.initialize(HTTPParser.REQUEST, {}, unreachableHeaderLimit, HTTPParser.kLenientNone);

    let decision;
    let error;
    const parsed = parser.execute(Buffer.from(payload));
    if (parsed instanceof Error) {
        decision = 'reject';
        error = { code: parsed.code, reason: parsed.reason, offset: parsed.bytesParsed };
    } else if (requests.length > 0 && requests[requests.length - 1].upgrade
               && (requests[requests.length - 1].complete || parsed < payload.length)) {
        // CONNECT or Upgrade: llhttp stops after the request (or where its body no longer
        // parses), and Node hands the rest to the new protocol.
        decision = 'upgrade';
        error = { code: 'HPE_PAUSED_UPGRADE', reason: 'switched protocols', offset: parsed };
    } else {
        const finished = parser.finish();
        if (finished instanceof Error) {
            decision = 'incomplete';
            error = { code: finished.code, reason: finished.reason, offset: payload.length };
        } else {
            decision = 'complete';
        }
    }
    parser.close();
    return {
        decision,
        ...(error ? { error } : {}),
        requests: requests.map((request) => ({ ...request, body: Buffer.concat(request.body).toString('base64') })),
    };
}

const names = fs.readdirSync(corpus).filter((name) => !name.startsWith('.')).sort();
const inputs = names.map((name) => {
    const { limits, payload } = decode(fs.readFileSync(path.join(corpus, name)));
    return { name, limits, payload: Buffer.from(payload).toString('base64'), llhttp: decide(payload) };
});

const result = {
    generator: 'node scripts/llhttp-decisions.js',
    node: process.versions.node,
    llhttp: process.versions.llhttp,
    lenientFlags: HTTPParser.kLenientNone,
    corpus: 'Tests/fuzz/corpus/FuzzHTTPParser',
    inputs,
};
// One input per line: small, and a regenerated file diffs by input.
const lines = inputs.map((input) => '  ' + JSON.stringify(input));
const head = JSON.stringify({ ...result, inputs: undefined }, null, 2).replace(/\n}$/, '');
fs.writeFileSync(output, `${head},\n  "inputs": [\n${lines.join(',\n')}\n  ]\n}\n`);
const counts = {};
for (const input of inputs) counts[input.llhttp.decision] = (counts[input.llhttp.decision] || 0) + 1;
console.log(`llhttp ${process.versions.llhttp} (node ${process.versions.node}): ${inputs.length} inputs ${JSON.stringify(counts)} -> ${path.relative(root, output)}`);
