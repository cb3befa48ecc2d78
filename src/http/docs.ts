/**
 * A self-contained API reference page: it renders /openapi.json in the browser with no external
 * assets (the service may run where no CDN is reachable).
 */
export function docsPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>robustcheck API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #36c;background:#f6f8fb}
.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}code,pre{font:13px ui-monospace,monospace}
pre{background:#fff;border:1px solid #eee;padding:.5rem;overflow:auto;max-height:20rem}
</style></head><body><h1>robustcheck API</h1><p>Machine-readable: <a href="${specUrl}">${specUrl}</a></p>
<div id="ops">Loading…</div>
<script>
fetch(${JSON.stringify(specUrl)}).then(r=>r.json()).then(spec=>{
  const esc=s=>String(s).replace(/[&<>]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;"}[c]));
  let html="<p>"+esc(spec.info.description||"")+"</p>";
  for(const [path,ops] of Object.entries(spec.paths)){
    for(const [method,op] of Object.entries(ops)){
      html+='<div class="op"><div><span class="m">'+method+'</span><code>'+esc(path)+'</code> — '+esc(op.summary||"")+'</div>';
      if(op.description) html+="<p>"+esc(op.description)+"</p>";
      if(op.requestBody) html+="<p>Body: "+Object.keys(op.requestBody.content).map(esc).join(", ")+"</p>";
      html+="<p>Responses: "+Object.keys(op.responses).join(", ")+"</p></div>";
    }
  }
  html+="<h2>Schemas</h2>";
  for(const [name,s] of Object.entries((spec.components||{}).schemas||{})) html+="<h3>"+esc(name)+"</h3><pre>"+esc(JSON.stringify(s,null,2))+"</pre>";
  document.getElementById("ops").innerHTML=html;
});
</script></body></html>`;
}
