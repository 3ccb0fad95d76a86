import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/**
 * Where the worker serves Prometheus metrics. The SDK's exporter binds a socket address, so the host
 * must be an IP literal (a host name such as "localhost" is refused by the exporter at start).
 */
export const MetricsAddress = z.string().refine(isSocketAddress, {
  message: 'expected IP:port to serve Prometheus metrics on, e.g. 127.0.0.1:9464 (0.0.0.0:9464 for every interface)',
});

/** "IPv4:port" or "[IPv6]:port" with a port from 1 to 65535. */
export function isSocketAddress(value: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!match) return false;
  const [, ipv6, ipv4, port] = match;
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65535) return false;
  return ipv6 !== undefined ? isIPv6(ipv6) : isIPv4(ipv4 ?? '');
}
