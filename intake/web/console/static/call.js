// "Ghi nhận cuộc gọi": triage's suggestion as the operator types (place.js: the commune),
// Ctrl+Enter to file from the text box. A file, so the CSP needs no inline script.
(function(){
  var form=document.getElementById('call-form');
  if(!form)return;
  var text=document.getElementById('text'), box=document.getElementById('suggestion');
  var last=null, timer=null;
  var csrf=form.querySelector('input[name=csrf]').value;
  function esc(s){var d=document.createElement('span');d.textContent=s==null?'':String(s);return d.innerHTML;}
  function show(s){
    last=s;
    var html='<strong><span class="lv '+esc(s.level)+'">'+esc(s.level_label)+'</span></strong> ';
    html+=s.categories.map(function(c){return esc(c.label);}).join(', ');
    if(s.purpose_label){html+=' ('+esc(s.purpose_label)+')';}
    if(s.reasons.length){html+='<ul>'+s.reasons.map(function(r){return '<li>'+esc(r)+'</li>';}).join('')+'</ul>';}
    box.innerHTML=html;
  }
  function suggest(){
    var body=new FormData();body.append('csrf',csrf);body.append('text',text.value);
    fetch('/console/calls/suggest',{method:'POST',body:body,credentials:'same-origin'})
      .then(function(r){return r.ok?r.json():null;}).then(function(s){if(s)show(s);});
  }
  text.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(suggest,350);});
  text.addEventListener('keydown',function(e){if(e.key==='Enter'&&(e.ctrlKey||e.metaKey)){e.preventDefault();form.requestSubmit();}});
  document.getElementById('use-suggestion').addEventListener('click',function(){
    if(!last)return;
    document.getElementById('level').value=last.level;
    var ids=last.categories.map(function(c){return c.id;});
    form.querySelectorAll('input[name=categories]').forEach(function(b){b.checked=ids.indexOf(b.value)>=0;});
    if(last.trafficking_purpose){document.getElementById('trafficking_purpose').value=last.trafficking_purpose;}
  });
  if(text.value){suggest();}
})();
