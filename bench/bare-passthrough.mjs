// The baseline: a bare smtp-server + nodemailer pass-through, one upstream connection per
// message, no policy, no guard. Usage: node bench/bare-passthrough.mjs UPSTREAM_PORT
import { SMTPServer } from 'smtp-server';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { PassThrough } from 'node:stream';

const upstreamPort = Number(process.argv[2]);
const server = new SMTPServer({
  authOptional: true,
  disableReverseLookup: true,
  disabledCommands: ['STARTTLS'],
  // the same greeting delay as mailwarden's bench run, so the comparison is of the data path
  greetingDelay: 0,
  logger: false,
  onData(stream, session, cb) {
    const conn = new SMTPConnection({ host: '127.0.0.1', port: upstreamPort, ignoreTLS: true, logger: false });
    conn.on('error', (err) => cb(err));
    conn.connect(() => {
      // the same Nagle fix as mailwarden's upstream, so the comparison is fair
      conn._socket.setNoDelay(true);
      const body = new PassThrough();
      conn.send(
        { from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address) },
        body,
        (err, info) => {
          conn.quit();
          if (err) return cb(err);
          cb(null, info.response);
        },
      );
      stream.pipe(body);
    });
  },
});
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
