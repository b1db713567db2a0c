// The queue's live updates and keys (a file, so the Content-Security-Policy needs no inline script).
(function(){
  var rows=document.getElementById('rows'), sel=-1;
  if(!rows)return;
  function items(){return rows.querySelectorAll('tr[data-href]');}
  function mark(){items().forEach(function(r,i){r.classList.toggle('sel',i===sel);});}
  function refresh(){fetch('/console/queue'+location.search,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null;}).then(function(html){if(html!==null){rows.innerHTML=html;mark();}});}
  if(window.EventSource){
    var es=new EventSource('/console/events');
    es.addEventListener('changed',refresh);
    es.addEventListener('signed_out',function(){es.close();location.href='/console/login';});
  }
  document.addEventListener('keydown',function(e){
    if(e.target.tagName==='INPUT'||e.target.tagName==='SELECT'||e.target.tagName==='TEXTAREA')return;
    var n=items().length;
    if(e.key==='j'){sel=Math.min(n-1,sel+1);mark();}
    else if(e.key==='k'){sel=Math.max(0,sel-1);mark();}
    else if(e.key==='Enter'&&sel>=0){location.href=items()[sel].dataset.href;}
    else if(e.key==='/'){e.preventDefault();document.querySelector('#filters select').focus();}
  });
})();
