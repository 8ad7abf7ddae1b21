// The conversation key nginx hashes on to choose a replica (njs, loaded by
// nginx.conf with Debian's libnginx-mod-http-js): the X-Session-Id header,
// else the JSON body's "user" field, else the request's own id, so that
// requests without a key spread over the replicas.
function key(r) {
  const header = r.headersIn['X-Session-Id'];
  if (header) return header;
  try {
    const body = JSON.parse(r.requestText);
    if (body && typeof body.user === 'string' && body.user !== '') return body.user;
  } catch (e) {
    // No body, or not JSON: no key (the replica answers the error itself).
  }
  return r.variables.request_id;
}

export default { key };
