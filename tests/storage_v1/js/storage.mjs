// supabase-js storage scenario: every step's outcome printed as one JSON object.
import { createClient } from '@supabase/supabase-js'

const cfg = JSON.parse(process.argv[2])
const out = {}
const options = { auth: { persistSession: false } }
const service = createClient(cfg.url, cfg.service_key, options)
const alice = createClient(cfg.url, cfg.anon_key, {
  ...options,
  global: { headers: { Authorization: `Bearer ${cfg.alice_token}` } },
})
const step = async (name, pending) => {
  try {
    const r = await pending
    out[name] = {
      data: r.data ?? null,
      error: r.error ? { message: r.error.message, status: String(r.error.statusCode ?? r.error.status) } : null,
    }
  } catch (e) {
    out[name] = { data: null, error: { message: String(e), status: 'thrown' } }
  }
}
const text = async (url) => {
  const r = await fetch(url)
  return { status: r.status, body: await r.text() }
}

await step('create', service.storage.createBucket('jsb', { public: true, fileSizeLimit: 1000, allowedMimeTypes: ['text/plain', 'image/png'] }))
await step('getBucket', service.storage.getBucket('jsb'))
const b = service.storage.from('jsb')
await step('uploadBlob', b.upload('f/a.txt', new Blob(['hello'], { type: 'text/plain' }), { contentType: 'text/plain' }))
await step('uploadBuffer', b.upload('f/b.txt', Buffer.from('bravo'), { contentType: 'text/plain', metadata: { k: 'b' } }))
await step('duplicate', b.upload('f/a.txt', Buffer.from('x'), { contentType: 'text/plain' }))
await step('upsert', b.upload('f/a.txt', Buffer.from('HELLO'), { contentType: 'text/plain', upsert: true }))
const downloaded = await b.download('f/a.txt')
out.download = { data: downloaded.data ? await downloaded.data.text() : null, error: downloaded.error?.message ?? null }
await step('list', b.list('f'))
await step('info', b.info('f/b.txt'))
await step('exists', b.exists('f/b.txt'))
await step('existsNot', b.exists('f/none.txt'))
await step('signed', b.createSignedUrl('f/a.txt', 60))
out.signedFetch = out.signed.data ? await text(out.signed.data.signedUrl) : null
await step('signedMany', b.createSignedUrls(['f/a.txt', 'f/none.txt'], 60))
out.publicFetch = await text(b.getPublicUrl('f/b.txt').data.publicUrl)
await step('signUpload', b.createSignedUploadUrl('f/up.txt'))
if (out.signUpload.data) {
  await step('toSigned', b.uploadToSignedUrl('f/up.txt', out.signUpload.data.token, Buffer.from('up'), { contentType: 'text/plain' }))
}
await step('move', b.move('f/b.txt', 'g/b.txt'))
await step('copy', b.copy('g/b.txt', 'g/c.txt'))
await step('update', b.update('g/c.txt', Buffer.from('charlie'), { contentType: 'text/plain' }))
await step('mime', b.upload('x.gif', Buffer.from('gif'), { contentType: 'image/gif' }))
await step('tooBig', b.upload('x.txt', Buffer.alloc(2000), { contentType: 'text/plain' }))
await step('remove', b.remove(['g/b.txt', 'g/c.txt']))
const a = alice.storage.from('jsb')
await step('aliceOwn', a.upload('alice/mine.txt', Buffer.from('mine'), { contentType: 'text/plain' }))
await step('aliceForeign', a.upload('bob/not.txt', Buffer.from('no'), { contentType: 'text/plain' }))
await step('aliceList', a.list())
await step('aliceCreatesBucket', alice.storage.createBucket('alices'))
await step('updateBucket', service.storage.updateBucket('jsb', { public: false }))
out.publicAfter = await text(b.getPublicUrl('f/a.txt').data.publicUrl)
await step('empty', service.storage.emptyBucket('jsb'))
await step('deleteBucket', service.storage.deleteBucket('jsb'))
console.log(JSON.stringify(out))
