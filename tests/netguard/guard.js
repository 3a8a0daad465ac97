// The suite's network guard for node processes (n8n, the Zapier driver), loaded through
// NODE_OPTIONS=--require: the twin of netguard.py. A lookup of any name but localhost, or a connection to
// any address but loopback, fails at once with an error naming the host and the call site, and is written
// as one JSON line to $MEDIAGEN_NETGUARD_LOG, which the pytest process reads after every test.
'use strict';
const dns = require('dns');
const net = require('net');
const dgram = require('dgram');
const fs = require('fs');
const os = require('os');

const LOG = process.env.MEDIAGEN_NETGUARD_LOG;
const ALLOWED_NAMES = new Set(['localhost', 'localhost.', 'ip6-localhost', 'ip6-loopback', os.hostname().toLowerCase()]);

function ipIsLocal(host) {
  const h = String(host).split('%')[0].toLowerCase();
  if (net.isIPv4(h)) return h.startsWith('127.') || h === '0.0.0.0';
  if (net.isIPv6(h)) {
    if (h === '::1' || h === '::') return true;
    const mapped = h.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    return mapped !== null && ipIsLocal(mapped[1]);
  }
  return false;
}

function nameAllowed(host) {
  if (host === undefined || host === null || host === '') return true;
  const h = String(host).trim().toLowerCase();
  return net.isIP(h.split('%')[0]) !== 0 || ALLOWED_NAMES.has(h);
}

function refuse(kind, target) {
  const site = (new Error().stack || '').split('\n').slice(3, 9).map((l) => l.trim()).join(' <- ');
  if (LOG) {
    fs.appendFileSync(LOG, JSON.stringify({ pid: process.pid, kind, target: String(target), site }) + '\n');
  }
  const err = new Error(`network guard: ${kind} of ${target} refused (only loopback may be reached in this test run); tried at ${site}`);
  err.code = 'ENOTFOUND';
  return err;
}

function guardLookup(original, kind) {
  return function guarded(host, ...args) {
    if (nameAllowed(host)) return original.call(this, host, ...args);
    const err = refuse(kind, host);
    const callback = args[args.length - 1];
    if (typeof callback === 'function') { process.nextTick(callback, err); return undefined; }
    return Promise.reject(err);
  };
}

dns.lookup = guardLookup(dns.lookup, 'dns.lookup');
dns.promises.lookup = guardLookup(dns.promises.lookup, 'dns.promises.lookup');
for (const name of Object.keys(dns)) {
  if (/^resolve/.test(name) && typeof dns[name] === 'function') dns[name] = guardLookup(dns[name], `dns.${name}`);
  if (/^resolve/.test(name) && typeof dns.promises[name] === 'function') {
    dns.promises[name] = guardLookup(dns.promises[name], `dns.promises.${name}`);
  }
}
for (const Resolver of [dns.Resolver, dns.promises.Resolver]) {
  for (const name of Object.getOwnPropertyNames(Resolver.prototype)) {
    if (/^resolve/.test(name)) Resolver.prototype[name] = guardLookup(Resolver.prototype[name], `Resolver.${name}`);
  }
}

// A connection to an IP literal needs no lookup: judge the address itself.
const baseConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  let host;
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path === undefined) host = first.host === undefined ? 'localhost' : first.host;
  } else if (Array.isArray(first)) {
    const options = first[0] || {};
    if (options.path === undefined) host = options.host === undefined ? 'localhost' : options.host;
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  }
  if (host !== undefined && net.isIP(String(host).split('%')[0]) !== 0 && !ipIsLocal(host)) {
    const err = refuse('connect', host);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return baseConnect.apply(this, args);
};

const baseSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function send(...args) {
  const address = args.find((a, i) => i > 0 && typeof a === 'string');
  if (address !== undefined && net.isIP(address) !== 0 && !ipIsLocal(address)) {
    const callback = args[args.length - 1];
    const err = refuse('dgram.send', address);
    if (typeof callback === 'function') process.nextTick(callback, err);
    return undefined;
  }
  return baseSend.apply(this, args);
};

module.exports = { nameAllowed, ipIsLocal };
