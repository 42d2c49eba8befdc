/**
 * Certificates for TLS tests, made with openssl in a scratch directory: a CA, a server
 * certificate for 127.0.0.1 signed by it, a client certificate (mutual TLS), and a second CA
 * that signed nothing (the "wrong CA").
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCertificates {
  dir: string
  ca: string
  otherCa: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  remove(): Promise<void>
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function selfSignedCa(dir: string, name: string): Promise<string> {
  const cert = join(dir, `${name}.crt`)
  await run('openssl', ['req', '-x509', ...EC_KEY, '-keyout', join(dir, `${name}.key`), '-out', cert, '-days', '2', '-subj', `/CN=${name}`])
  return cert
}

async function signed(dir: string, name: string, extensions: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const cert = join(dir, `${name}.crt`)
  const ext = join(dir, `${name}.ext`)
  await writeFile(ext, extensions)
  await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`])
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', join(dir, 'test-ca.crt'), '-CAkey', join(dir, 'test-ca.key'),
    '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext,
  ])
  return { cert, key }
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'kbc-tls-'))
  const ca = await selfSignedCa(dir, 'test-ca')
  const otherCa = await selfSignedCa(dir, 'other-ca')
  const server = await signed(dir, 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  const client = await signed(dir, 'client', 'extendedKeyUsage=clientAuth\n')
  return {
    dir, ca, otherCa,
    serverCert: server.cert, serverKey: server.key,
    clientCert: client.cert, clientKey: client.key,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

/** redis-server arguments for a TLS port beside the plain one (the launcher checks readiness on the plain one). */
export function tlsServerArgs(certs: TestCertificates, port: number, authClients: 'yes' | 'no' | 'optional'): string[] {
  return [
    '--tls-port', String(port),
    '--tls-cert-file', certs.serverCert,
    '--tls-key-file', certs.serverKey,
    '--tls-ca-cert-file', certs.ca,
    '--tls-auth-clients', authClients,
  ]
}
