// The queue's live updates, keys and ticking deadlines (a file, so the Content-Security-Policy
// needs no inline script). Deadlines count from the server's clock, not the browser's.
(function(){
  var rows=document.getElementById('rows'), sel=-1;
  if(!rows)return;
  var skew=Date.parse(rows.dataset.now)-Date.now();
  var en=document.documentElement.lang==='en';
  function items(){return rows.querySelectorAll('tr[data-href]');}
  function mark(){items().forEach(function(r,i){r.classList.toggle('sel',i===sel);});}
  function span(ms){
    var m=Math.floor(Math.abs(ms)/60000), d=Math.floor(m/1440);
    if(d>=1){return d+(en?(d>1?' days':' day'):' ngày');}
    var mm=m%60;return Math.floor(m/60)+':'+(mm<10?'0':'')+mm;
  }
  function tick(){
    var now=Date.now()+skew;
    rows.querySelectorAll('[data-deadline]').forEach(function(el){
      var left=Date.parse(el.dataset.deadline)-now;
      el.textContent=(left<0?(en?'late ':'quá '):(el.dataset.left||''))+span(left);
      el.classList.toggle('over',left<0);
    });
    rows.querySelectorAll('[data-since]').forEach(function(el){el.textContent=span(now-Date.parse(el.dataset.since));});
  }
  function refresh(){fetch('/console/queue'+location.search,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null;}).then(function(html){if(html!==null){rows.innerHTML=html;mark();tick();}});}
  tick();setInterval(tick,1000);
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
