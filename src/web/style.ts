// The one stylesheet of the web pages, kept in the source so the compiled binary carries it (no
// file is read at run time) and served from the same origin, as the Content-Security-Policy asks.
export const STYLESHEET = `
:root { --fg: #1d2430; --muted: #5c6676; --line: #d8dde5; --accent: #1f5fbf; --bad: #b3261e; --ok: #1e7a3c; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; }
header nav { display: flex; gap: .4rem 1rem; flex: 1; flex-wrap: wrap; }
header nav a { white-space: nowrap; }
header form { margin: 0; }
main { max-width: 70rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
a { color: var(--accent); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
code, pre { font: 13px/1.35 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; margin: 0; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: 12px; border: 1px solid var(--line); background: #fff; }
.badge.yaml { border-color: #8fb1e3; background: #e8f0fc; }
.badge.override { border-color: #e3b26b; background: #fdf1de; }
.badge.api { border-color: #9fd0ac; background: #e6f5ea; }
.badge.off { border-color: #e3a09b; background: #fbe7e6; }
.flash { padding: .6rem .9rem; margin-bottom: 1rem; border-radius: .3rem; border: 1px solid var(--line); background: #fff; }
.flash.error { border-color: var(--bad); color: var(--bad); }
.flash.info { border-color: var(--ok); color: var(--ok); }
.note { color: var(--muted); }
.actions { display: flex; gap: .6rem; flex-wrap: wrap; margin: 1rem 0; }
.actions form { margin: 0; }
button, .button { font: inherit; padding: .35rem .9rem; border-radius: .3rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
form.stack { display: grid; gap: .8rem; max-width: 36rem; background: #fff; padding: 1.2rem; border: 1px solid var(--line); border-radius: .3rem; }
form.stack label { display: grid; gap: .2rem; font-weight: 600; }
form.stack fieldset { border: 1px solid var(--line); border-radius: .3rem; }
form.stack fieldset label { display: inline-flex; gap: .3rem; font-weight: normal; margin-right: .8rem; }
input[type=text], input[type=password], input[type=number], input[type=search], textarea { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: .3rem; width: 100%; }
textarea { min-height: 5rem; }
.search { display: flex; gap: .5rem; margin-bottom: 1rem; max-width: 30rem; }
.pager { display: flex; gap: 1rem; margin-top: 1rem; }
.login { max-width: 22rem; margin: 4rem auto; }
.qr svg { width: 14rem; height: 14rem; display: block; }
`;
